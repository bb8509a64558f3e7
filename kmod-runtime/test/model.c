// SPDX-License-Identifier: GPL-2.0
/*
 * Model-based test: random sequences of operations (begin, end, cancel, sweep,
 * threshold and timeout changes, clear) applied both to the runtime and to
 * a plain single-threaded reference model; return codes, every hit record
 * and the counters must agree. Usage: model [runs] [ops per run].
 */
#include "lt_test.h"

#define MODEL_KEYS	48

int lt_test_failures;

struct model {
	bool keep_last;
	u32 capacity;
	u64 threshold, timeout, stale;
	bool pending[MODEL_KEYS];
	struct lt_ctx begin[MODEL_KEYS];
	u32 nr_pending;
	struct lt_stats s;	/* min_ns U64_MAX while no pair */
};

struct run {
	struct model m;
	struct lt_tracker *t;
	struct lt_output *out;
	u32 key_size;
	bool stack;	/* threshold hits carry the (shim's one-frame) stack */
	u64 now;
	u64 rng;
};

/* Keys of every size: the key number spread over key_size bytes. */
static void key_bytes(struct run *r, u32 key, u8 *buf)
{
	u32 i;

	memset(buf, 0, LT_KEY_MAX);
	for (i = 0; i < r->key_size; i++)
		buf[i] = (u8)(key * 37 + i * (key + 1));
	buf[0] = (u8)key;	/* distinct even for a 1-byte key */
}

/* A stack only when asked for, on a threshold hit; unused entries zero. */
static void expect_stack(const struct lt_hit *hit, bool wanted)
{
	u32 i;

	EXPECT_EQ(hit->stack_len, wanted ? 1 : 0);
	EXPECT_EQ(hit->reserved2, 0);
	EXPECT_EQ(hit->stack[0], wanted ? 0xffffffff81000000ULL : 0);
	for (i = 1; i < LT_STACK_MAX; i++)
		EXPECT_EQ(hit->stack[i], 0);
}

static void expect_hit(struct run *r, u32 key, u32 kind, u64 latency,
		       const struct lt_ctx *end)
{
	struct lt_hit hit;
	u8 kb[LT_KEY_MAX];

	key_bytes(r, key, kb);
	if (!EXPECT(lt_output_user_pop(r->out, &hit)))
		return;
	EXPECT_EQ(hit.tracker, 3);
	EXPECT_EQ(hit.kind, kind);
	EXPECT_EQ(hit.latency_ns, latency);
	EXPECT_EQ(hit.key_size, r->key_size);
	EXPECT(!memcmp(hit.key, kb, LT_KEY_MAX));
	EXPECT(!memcmp(&hit.begin, &r->m.begin[key], sizeof(hit.begin)));
	if (end) {
		EXPECT(!memcmp(&hit.end, end, sizeof(hit.end)));
	} else {
		struct lt_ctx zero = { 0 };

		EXPECT(!memcmp(&hit.end, &zero, sizeof(zero)));
	}
	expect_stack(&hit, end && r->stack);
}

/* The records layer's convention: the smallest k with v <= 2^k, at most 63. */
static u32 model_bucket(u64 v)
{
	u32 k = 0;

	while (k < LT_HIST_BUCKETS - 1 && v > 1ULL << k)
		k++;
	return k;
}

static void model_remove(struct model *m, u32 key)
{
	m->pending[key] = false;
	m->nr_pending--;
}

static void op_in(struct run *r, u32 key)
{
	struct model *m = &r->m;
	struct lt_ctx ctx = lt_test_ctx(r->now, key % 3);
	u8 kb[LT_KEY_MAX];
	int want;

	key_bytes(r, key, kb);
	if (m->pending[key] && !m->keep_last) {
		want = -EEXIST;
		m->s.ignored++;
	} else if (m->nr_pending == m->capacity) {
		want = -ENOSPC;	/* keep_last needs a free event too */
		m->s.dropped++;
	} else {
		want = 0;
		m->s.begins++;
		if (m->pending[key])
			m->s.replaced++;
		else
			m->nr_pending++;
		m->pending[key] = true;
		m->begin[key] = ctx;
	}
	EXPECT_EQ(lt_event_in(r->t, kb, &ctx), want);
}

static void op_out(struct run *r, u32 key)
{
	struct model *m = &r->m;
	struct lt_ctx ctx = lt_test_ctx(r->now, 7);
	u8 kb[LT_KEY_MAX];
	u64 latency;
	int ret;

	key_bytes(r, key, kb);
	ret = lt_event_out(r->t, kb, &ctx);
	if (!m->pending[key]) {
		EXPECT_EQ(ret, -ENOENT);
		return;
	}
	latency = r->now - m->begin[key].ts_ns;
	if (m->timeout && latency > m->timeout) {
		EXPECT_EQ(ret, -ENOENT);
		m->s.timeouts++;
		expect_hit(r, key, LT_HIT_TIMEOUT, m->timeout, NULL);
	} else {
		EXPECT_EQ(ret, 0);
		m->s.pairs++;
		m->s.min_ns = min(m->s.min_ns, latency);
		m->s.max_ns = max(m->s.max_ns, latency);
		m->s.sum_ns += latency;
		m->s.hist[model_bucket(latency)]++;
		if (m->threshold && latency > m->threshold) {
			m->s.hits++;
			expect_hit(r, key, LT_HIT_THRESHOLD, latency, &ctx);
		}
	}
	model_remove(m, key);
}

/* cancel: the begin goes without a pair, unless its timeout has passed */
static void op_cancel(struct run *r, u32 key)
{
	struct model *m = &r->m;
	struct lt_ctx ctx = lt_test_ctx(r->now, 5);
	u8 kb[LT_KEY_MAX];
	int ret;

	key_bytes(r, key, kb);
	ret = lt_event_cancel(r->t, kb, &ctx);
	if (!m->pending[key]) {
		EXPECT_EQ(ret, -ENOENT);
		return;
	}
	if (m->timeout && r->now - m->begin[key].ts_ns > m->timeout) {
		EXPECT_EQ(ret, -ENOENT);
		m->s.timeouts++;
		expect_hit(r, key, LT_HIT_TIMEOUT, m->timeout, NULL);
	} else {
		EXPECT_EQ(ret, 0);
		m->s.cancelled++;
	}
	model_remove(m, key);
}

/* The sweep reports in table order: compare as sets, keyed by begin. */
static void op_expire(struct run *r)
{
	struct model *m = &r->m;
	u64 limit = m->timeout ? m->timeout : m->stale;
	u32 key, want = 0, got;
	struct lt_hit hit;

	got = lt_tracker_expire(r->t, r->now, 0);
	for (key = 0; key < MODEL_KEYS; key++) {
		if (!m->pending[key] || r->now - m->begin[key].ts_ns <= limit)
			continue;
		want++;
		if (m->timeout)
			m->s.timeouts++;
		else
			m->s.stale++;
		model_remove(m, key);
	}
	EXPECT_EQ(got, want);
	while (m->timeout && lt_output_user_pop(r->out, &hit)) {
		EXPECT_EQ(hit.kind, LT_HIT_TIMEOUT);
		EXPECT_EQ(hit.latency_ns, m->timeout);
		expect_stack(&hit, false);
		EXPECT(r->now - hit.begin.ts_ns > m->timeout);
		want--;
	}
	EXPECT_EQ(m->timeout ? want : 0, 0);
}

static void compare_stats(struct run *r)
{
	struct model *m = &r->m;
	struct lt_stats s;

	lt_tracker_stats(r->t, &s);
	EXPECT_EQ(s.begins, m->s.begins);
	EXPECT_EQ(s.pairs, m->s.pairs);
	EXPECT_EQ(s.hits, m->s.hits);
	EXPECT_EQ(s.timeouts, m->s.timeouts);
	EXPECT_EQ(s.dropped, m->s.dropped);
	EXPECT_EQ(s.ignored, m->s.ignored);
	EXPECT_EQ(s.replaced, m->s.replaced);
	EXPECT_EQ(s.stale, m->s.stale);
	EXPECT_EQ(s.cleared, m->s.cleared);
	EXPECT_EQ(s.cancelled, m->s.cancelled);
	EXPECT_EQ(s.lost, 0);
	EXPECT_EQ(s.pending, m->nr_pending);
	EXPECT_EQ(s.min_ns, m->s.pairs ? m->s.min_ns : 0);
	EXPECT_EQ(s.max_ns, m->s.max_ns);
	EXPECT_EQ(s.sum_ns, m->s.sum_ns);
	EXPECT(!memcmp(s.hist, m->s.hist, sizeof(s.hist)));
	EXPECT_EQ(lt_table_count(&r->t->table), m->nr_pending);
	EXPECT_EQ(lt_pool_free_count(&r->t->pool) + m->nr_pending,
		  m->capacity);
}

static void one_step(struct run *r)
{
	u64 x = lt_rand(&r->rng);
	u32 key = (x >> 8) % MODEL_KEYS, op = x % 100;

	r->now += (x >> 32) % 300;
	if (op < 45) {
		op_in(r, key);
	} else if (op < 82) {
		op_out(r, key);
	} else if (op < 90) {
		op_cancel(r, key);
	} else if (op < 95) {
		op_expire(r);
	} else if (op < 97) {
		r->m.threshold = (x >> 20) % 400;
		lt_tracker_set_threshold(r->t, r->m.threshold);
	} else if (op < 99) {
		r->m.timeout = (x >> 20) % 3 ? (x >> 24) % 3000 : 0;
		lt_tracker_set_timeout(r->t, r->m.timeout);
	} else {
		lt_tracker_clear(r->t);
		r->m.s.cleared += r->m.nr_pending;
		memset(r->m.pending, 0, sizeof(r->m.pending));
		r->m.nr_pending = 0;
	}
}

static void one_run(u64 seed, u32 ops)
{
	struct lt_tracker_config cfg = { .name = "model", .index = 3 };
	struct run r = { .rng = seed * 0x9e3779b97f4a7c15ULL + 1 };
	u32 i;

	lt_shim_set_cpu(seed);
	r.key_size = 1 + lt_rand(&r.rng) % LT_KEY_MAX;
	cfg.key_size = r.key_size;
	cfg.capacity = 1 + lt_rand(&r.rng) % 24;
	cfg.keep_last = lt_rand(&r.rng) & 1;
	cfg.stack = r.stack = lt_rand(&r.rng) & 1;
	cfg.threshold_ns = lt_rand(&r.rng) % 400;
	cfg.timeout_ns = lt_rand(&r.rng) % 2 ? lt_rand(&r.rng) % 3000 : 0;
	cfg.stale_ns = 5000;
	r.m.keep_last = cfg.keep_last;
	r.m.capacity = cfg.capacity;
	r.m.threshold = cfg.threshold_ns;
	r.m.timeout = cfg.timeout_ns;
	r.m.stale = cfg.stale_ns;
	r.m.s.min_ns = U64_MAX;
	r.now = 1000;
	r.out = lt_output_create("model", 1024);
	r.t = lt_tracker_create(&cfg, r.out);
	if (!EXPECT(!IS_ERR(r.t) && !IS_ERR(r.out)))
		return;
	for (i = 0; i < ops && !lt_test_failures; i++) {
		one_step(&r);
		if (i % 64 == 0)
			compare_stats(&r);
	}
	compare_stats(&r);
	if (lt_test_failures)
		fprintf(stderr, "model: seed %llu, step %u, key_size %u, capacity %u, keep_last %d\n",
			(unsigned long long)seed, i, cfg.key_size,
			cfg.capacity, cfg.keep_last);
	lt_tracker_destroy(r.t);
	lt_output_destroy(r.out);
}

/* One pair of @latency ns on @t (key 1, begin at 0): its bucket and sum. */
static void one_pair(struct lt_tracker *t, u64 latency)
{
	struct lt_ctx ctx = lt_test_ctx(0, 0);
	u32 key = 1;

	EXPECT_EQ(lt_event_in(t, &key, &ctx), 0);
	ctx.ts_ns = latency;
	EXPECT_EQ(lt_event_out(t, &key, &ctx), 0);
}

/*
 * The histogram's edges, written out: bucket k holds 2^(k-1) < v <= 2^k,
 * bucket 0 holds 0 and 1, bucket 63 everything above 2^62; the sum is
 * exact (these latencies add up below 2^64).
 */
static void test_bucket_edges(void)
{
	static const struct { u64 latency; u32 bucket; } edges[] = {
		{ 0, 0 }, { 1, 0 }, { 2, 1 }, { 3, 2 }, { 4, 2 }, { 5, 3 },
		{ 1024, 10 }, { 1025, 11 }, { 1ULL << 62, 62 },
		{ (1ULL << 62) + 1, 63 }, { 1ULL << 63, 63 }, { U64_MAX, 63 },
	};
	struct lt_tracker_config cfg = {
		.name = "edges", .key_size = 4, .capacity = 4,
	};
	struct lt_tracker *t = lt_tracker_create(&cfg, NULL);
	u64 want[LT_HIST_BUCKETS] = { 0 };
	struct lt_stats s;
	u32 i;

	if (!EXPECT(!IS_ERR(t)))
		return;
	for (i = 0; i < ARRAY_SIZE(edges); i++) {
		one_pair(t, edges[i].latency);
		want[edges[i].bucket]++;
		EXPECT_EQ(model_bucket(edges[i].latency), edges[i].bucket);
	}
	lt_tracker_stats(t, &s);
	for (i = 0; i < LT_HIST_BUCKETS; i++)
		EXPECT_EQ(s.hist[i], want[i]);
	lt_tracker_destroy(t);

	t = lt_tracker_create(&cfg, NULL);
	if (!EXPECT(!IS_ERR(t)))
		return;
	for (i = 0; i < 10; i++)
		one_pair(t, 1000 + 7 * i);
	lt_tracker_stats(t, &s);
	EXPECT_EQ(s.sum_ns, 10 * 1000 + 7 * 45);
	EXPECT_EQ(s.pairs, 10);
	lt_tracker_destroy(t);
}

int main(int argc, char **argv)
{
	u32 runs = argc > 1 ? atoi(argv[1]) : 300;
	u32 ops = argc > 2 ? atoi(argv[2]) : 2000;
	u32 seed;

	test_bucket_edges();
	for (seed = 1; seed <= runs && !lt_test_failures; seed++)
		one_run(seed, ops);
	return lt_test_result("model");
}
