// SPDX-License-Identifier: GPL-2.0
/*
 * Deterministic races: at each race point of the runtime (between reading
 * shared state and the cmpxchg acting on it) a nested operation runs, as an
 * interrupt or NMI on the same CPU would, or another CPU at the worst
 * moment. Each test checks that the outer operation notices and that the
 * counters, the table and the pool stay exact.
 */
#include "lt_test.h"

int lt_test_failures;

static struct lt_tracker *t;
static struct lt_output *out;
static u32 nested_key;
static int nested_ret;
static u64 nested_ts;

static struct lt_tracker *make(bool keep_last)
{
	struct lt_tracker_config cfg = {
		.name = "nested", .key_size = sizeof(u32), .capacity = 8,
		.keep_last = keep_last, .threshold_ns = 1,
	};

	return lt_tracker_create(&cfg, out);
}

static void nested_in(void)
{
	struct lt_ctx ctx = lt_test_ctx(nested_ts, 9);

	nested_ret = lt_event_in(t, &nested_key, &ctx);
}

static void nested_out(void)
{
	struct lt_ctx ctx = lt_test_ctx(nested_ts, 9);

	nested_ret = lt_event_out(t, &nested_key, &ctx);
}

/* Two begins of one key: the outer one is between its scan and publish. */
static void test_begin_in_begin(bool keep_last)
{
	struct lt_ctx ctx = lt_test_ctx(100, 1);
	struct lt_stats s;
	struct lt_hit hit;
	u32 key = 5;

	t = make(keep_last);
	nested_key = key;
	nested_ts = 200;
	lt_shim_race_arm("insert", nested_in);
	EXPECT_EQ(lt_event_in(t, &key, &ctx), 0);
	EXPECT_EQ(nested_ret, 0);
	EXPECT_EQ(lt_table_count(&t->table), 1);	/* not two */
	lt_tracker_stats(t, &s);
	EXPECT_EQ(s.begins, 2);
	EXPECT_EQ(s.replaced, 1);
	EXPECT_EQ(s.pending, 1);
	ctx.ts_ns = 1000;
	EXPECT_EQ(lt_event_out(t, &key, &ctx), 0);
	EXPECT(lt_output_user_pop(out, &hit));
	/* the survivor is the begin the keep policy wants */
	EXPECT_EQ(hit.begin.ts_ns, keep_last ? 200 : 100);
	EXPECT_EQ(lt_pool_free_count(&t->pool), 8);
	lt_tracker_destroy(t);
}

static u32 home_of(u32 key)
{
	struct lt_key k;

	lt_key_init(&k, &key, sizeof(key));
	return k.hash & t->table.mask;
}

/*
 * The duplicate that only racing begins can make: the outer begin chose
 * the free slot after a colliding key's entry; before it publishes, that
 * entry goes and a nested begin of the same key takes the earlier slot.
 * Both publish; the outer one's re-scan must remove one of them.
 */
static void nested_out_then_in(void)
{
	struct lt_ctx ctx = lt_test_ctx(150, 9);
	u32 other = nested_key;

	EXPECT_EQ(lt_event_out(t, &other, &ctx), 0);
	nested_key = 5;
	nested_in();
}

static void test_racing_begins_two_slots(bool keep_last)
{
	struct lt_ctx ctx = lt_test_ctx(100, 1);
	u32 key = 5, other;
	struct lt_stats s;
	struct lt_hit hit;

	t = make(keep_last);
	for (other = 6; home_of(other) != home_of(key); other++)
		;
	EXPECT_EQ(lt_event_in(t, &other, &ctx), 0);
	nested_key = other;
	nested_ts = 200;
	lt_shim_race_arm("insert", nested_out_then_in);
	EXPECT_EQ(lt_event_in(t, &key, &ctx), 0);
	EXPECT_EQ(nested_ret, 0);
	EXPECT_EQ(lt_table_count(&t->table), 1);	/* not two */
	lt_tracker_stats(t, &s);
	EXPECT_EQ(s.begins, 3);
	EXPECT_EQ(s.replaced, 1);
	EXPECT_EQ(s.pending, 1);
	while (lt_output_user_pop(out, &hit))	/* the pair of other */
		;
	ctx.ts_ns = 1000;
	EXPECT_EQ(lt_event_out(t, &key, &ctx), 0);
	EXPECT(lt_output_user_pop(out, &hit));
	EXPECT_EQ(hit.begin.ts_ns, keep_last ? 200 : 100);
	EXPECT_EQ(lt_pool_free_count(&t->pool), 8);
	lt_tracker_destroy(t);
}

/* Two ends of one key: the outer one found the begin, the nested one wins. */
static void test_end_in_end(void)
{
	struct lt_ctx ctx = lt_test_ctx(100, 1);
	struct lt_stats s;
	struct lt_hit hit;
	u32 key = 6;

	t = make(false);
	EXPECT_EQ(lt_event_in(t, &key, &ctx), 0);
	nested_key = key;
	nested_ts = 300;
	lt_shim_race_arm("remove", nested_out);
	ctx.ts_ns = 400;
	EXPECT_EQ(lt_event_out(t, &key, &ctx), -ENOENT);
	EXPECT_EQ(nested_ret, 0);
	lt_tracker_stats(t, &s);
	EXPECT_EQ(s.pairs, 1);
	EXPECT_EQ(s.hits, 1);
	EXPECT(lt_output_user_pop(out, &hit));
	EXPECT_EQ(hit.latency_ns, 200);		/* the nested end's */
	EXPECT(!lt_output_user_pop(out, &hit));	/* and only one hit */
	EXPECT_EQ(lt_pool_free_count(&t->pool), 8);
	lt_tracker_destroy(t);
}

/* A sweep between an end's lookup and its removal takes the begin first. */
static void nested_expire(void)
{
	EXPECT_EQ(lt_tracker_expire(t, 10000, 0), 1);
}

static void test_timeout_in_end(void)
{
	struct lt_ctx ctx = lt_test_ctx(100, 1);
	struct lt_stats s;
	u32 key = 7;

	t = make(false);
	lt_tracker_set_timeout(t, 1000);
	EXPECT_EQ(lt_event_in(t, &key, &ctx), 0);
	lt_shim_race_arm("remove", nested_expire);
	ctx.ts_ns = 500;
	EXPECT_EQ(lt_event_out(t, &key, &ctx), -ENOENT);
	lt_tracker_stats(t, &s);
	EXPECT_EQ(s.pairs, 0);
	EXPECT_EQ(s.timeouts, 1);
	EXPECT_EQ(lt_pool_free_count(&t->pool), 8);
	lt_tracker_destroy(t);
	while (lt_output_user_pop(out, &(struct lt_hit){ 0 }))
		;
}

/*
 * ABA on a free list: the outer get read head = A and A's next = B; nested
 * gets take A and B and give A back, so head is A again but B is in use.
 * The tag must make the outer cmpxchg fail, or B would be handed out twice.
 */
static void nested_aba(void)
{
	struct lt_ctx ctx = lt_test_ctx(50, 9);
	u32 a = 100, b = 101;

	EXPECT_EQ(lt_event_in(t, &a, &ctx), 0);
	EXPECT_EQ(lt_event_in(t, &b, &ctx), 0);
	EXPECT_EQ(lt_event_out(t, &a, &ctx), 0);	/* A back on top */
}

static void test_pool_aba(void)
{
	struct lt_ctx ctx = lt_test_ctx(50, 1);
	struct lt_event *seen[8];
	u32 key = 1, pos, n = 0, i;
	struct lt_stats s;
	u64 w;

	t = make(false);
	/* one begin and end move all 8 events to this CPU's list */
	EXPECT_EQ(lt_event_in(t, &key, &ctx), 0);
	EXPECT_EQ(lt_event_out(t, &key, &ctx), 0);
	lt_shim_race_arm("pool_pop", nested_aba);
	EXPECT_EQ(lt_event_in(t, &key, &ctx), 0);
	lt_tracker_stats(t, &s);
	EXPECT_EQ(s.pending, 2);	/* key 1 and b */
	for (key = 200; key < 206; key++)	/* take all the others */
		EXPECT_EQ(lt_event_in(t, &key, &ctx), 0);
	for (pos = 0; pos <= t->table.mask; pos++) {
		w = atomic64_read(&t->table.slots[pos]);
		if (!(w & 0xffffff))
			continue;
		seen[n] = &t->pool.events[(w & 0xffffff) - 1];
		for (i = 0; i < n; i++)
			EXPECT(seen[i] != seen[n]);	/* no event twice */
		n++;
	}
	EXPECT_EQ(n, 8);
	EXPECT_EQ(lt_pool_free_count(&t->pool), 0);
	lt_tracker_clear(t);
	EXPECT_EQ(lt_pool_free_count(&t->pool), 8);
	lt_tracker_destroy(t);
	while (lt_output_user_pop(out, &(struct lt_hit){ 0 }))
		;
}

/* A hit pushed while another push has claimed a cell but not filled it. */
static void nested_push(void)
{
	struct lt_hit hit;

	nested_out();
	EXPECT_EQ(nested_ret, 0);
	/* the reader waits for the outer record: ring order is claim order */
	EXPECT(!lt_output_user_pop(out, &hit));
}

static void test_push_in_push(void)
{
	struct lt_ctx ctx = lt_test_ctx(10, 1);
	struct lt_hit hit;
	u32 k1 = 1, k2 = 2;

	t = make(false);
	EXPECT_EQ(lt_event_in(t, &k1, &ctx), 0);
	EXPECT_EQ(lt_event_in(t, &k2, &ctx), 0);
	nested_key = k2;
	nested_ts = 30;
	lt_shim_race_arm("ring_push", nested_push);
	ctx.ts_ns = 20;
	EXPECT_EQ(lt_event_out(t, &k1, &ctx), 0);
	EXPECT(lt_output_user_pop(out, &hit));
	EXPECT_EQ(hit.latency_ns, 10);
	EXPECT(lt_output_user_pop(out, &hit));
	EXPECT_EQ(hit.latency_ns, 20);
	EXPECT(!lt_output_user_pop(out, &hit));
	lt_tracker_destroy(t);
}

int main(void)
{
	out = lt_output_create("nested", 16);
	test_begin_in_begin(false);
	test_begin_in_begin(true);
	test_racing_begins_two_slots(false);
	test_racing_begins_two_slots(true);
	test_end_in_end();
	test_timeout_in_end();
	test_pool_aba();
	test_push_in_push();
	lt_output_destroy(out);
	return lt_test_result("nested");
}
