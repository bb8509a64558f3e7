// SPDX-License-Identifier: GPL-2.0
/*
 * Multi-threaded stress test: worker threads (one per simulated CPU) do
 * begins and ends on a small set of overlapping keys, sweep timeouts and
 * clear the table concurrently, while a reader drains the hit ring. Every
 * return code is counted; afterwards the tracker's counters must add up
 * exactly, no key may be pending twice, the hit records must all have
 * arrived or been counted lost, and the pool must return to full capacity.
 * Run under ThreadSanitizer and AddressSanitizer (see Makefile).
 * Usage: stress [ops per worker].
 */
#include <pthread.h>
#include <sched.h>
#include "lt_test.h"

#define WORKERS		4
#define KEYS		40	/* at most; each run picks how many */
#define CAPACITY	24
#define TIMEOUT		2000	/* logical ns */

int lt_test_failures;

struct counts {
	u64 in_ok, in_exist, in_nospc, out_ok, out_noent;
};

static struct lt_tracker *tracker;
static struct lt_output *output;
static u64 ops_per_worker = 50000;
static u64 logical_clock;		/* shared time: atomically advanced */
static int workers_done, workers_ready;
static struct counts counts[WORKERS];
static u64 read_threshold, read_timeout;
static u32 nr_keys;

static u64 tick(u64 x)
{
	return __atomic_add_fetch(&logical_clock, 1 + (x >> 60), __ATOMIC_RELAXED);
}

static void *worker(void *arg)
{
	long id = (long)arg;
	struct counts *c = &counts[id];
	u64 rng = id + 1, x, i;
	struct lt_ctx ctx;
	u32 key;
	int ret;

	lt_shim_set_cpu(id);
	/* start together, or the first thread is done before the last starts */
	__atomic_add_fetch(&workers_ready, 1, __ATOMIC_ACQ_REL);
	while (__atomic_load_n(&workers_ready, __ATOMIC_ACQUIRE) < WORKERS)
		sched_yield();
	for (i = 0; i < ops_per_worker; i++) {
		x = lt_rand(&rng);
		key = (x >> 16) % nr_keys;
		ctx = lt_test_ctx(tick(x), id);
		switch (x % 100) {
		case 0 ... 46:
			ret = lt_event_in(tracker, &key, &ctx);
			c->in_ok += ret == 0;
			c->in_exist += ret == -EEXIST;
			c->in_nospc += ret == -ENOSPC;
			EXPECT(ret == 0 || ret == -EEXIST || ret == -ENOSPC);
			break;
		case 47 ... 93:
			ret = lt_event_out(tracker, &key, &ctx);
			c->out_ok += ret == 0;
			c->out_noent += ret == -ENOENT;
			EXPECT(ret == 0 || ret == -ENOENT);
			break;
		case 94 ... 98:
			lt_tracker_expire(tracker, ctx.ts_ns, 32);
			break;
		default:
			if (x % 1000 == 999)
				lt_tracker_clear(tracker);
			break;
		}
	}
	__atomic_add_fetch(&workers_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void check_record(const struct lt_hit *hit)
{
	struct lt_ctx zero = { 0 };
	u32 key;

	memcpy(&key, hit->key, sizeof(key));
	EXPECT(key < KEYS);
	EXPECT_EQ(hit->key_size, sizeof(u32));
	EXPECT_EQ(hit->tracker, 1);
	if (hit->kind == LT_HIT_THRESHOLD) {
		EXPECT(hit->latency_ns > 100);
		EXPECT_EQ(hit->end.ts_ns - hit->begin.ts_ns, hit->latency_ns);
		read_threshold++;
	} else {
		EXPECT_EQ(hit->kind, LT_HIT_TIMEOUT);
		EXPECT_EQ(hit->latency_ns, TIMEOUT);
		EXPECT(!memcmp(&hit->end, &zero, sizeof(zero)));
		read_timeout++;
	}
}

static void *reader(void *arg)
{
	struct lt_hit hit;

	while (__atomic_load_n(&workers_done, __ATOMIC_ACQUIRE) < WORKERS) {
		if (lt_output_user_pop(output, &hit))
			check_record(&hit);
	}
	return NULL;
}

/* At rest, no key may be pending in two slots. */
static void check_unique_keys(void)
{
	struct lt_table *tb = &tracker->table;
	u32 seen[KEYS] = { 0 }, pos, key;
	u64 w;

	for (pos = 0; pos <= tb->mask; pos++) {
		w = atomic64_read(&tb->slots[pos]);
		if (!(w & 0xffffff))
			continue;
		key = tb->pool->events[(w & 0xffffff) - 1].key[0];
		if (EXPECT(key < KEYS))
			EXPECT_EQ(++seen[key], 1);
	}
}

static void run(bool keep_last, u32 keys)
{
	struct lt_tracker_config cfg = {
		.name = "stress", .index = 1, .key_size = sizeof(u32),
		.capacity = CAPACITY, .keep_last = keep_last,
		.threshold_ns = 100, .timeout_ns = TIMEOUT,
	};
	struct counts sum = { 0 };
	pthread_t threads[WORKERS], rd;
	struct lt_stats s;
	struct lt_hit hit;
	long i;

	nr_keys = keys;
	output = lt_output_create("stress", 64);	/* small: some are lost */
	tracker = lt_tracker_create(&cfg, output);
	workers_done = 0;
	workers_ready = 0;
	read_threshold = read_timeout = 0;
	memset(counts, 0, sizeof(counts));
	pthread_create(&rd, NULL, reader, NULL);
	for (i = 0; i < WORKERS; i++)
		pthread_create(&threads[i], NULL, worker, (void *)i);
	for (i = 0; i < WORKERS; i++)
		pthread_join(threads[i], NULL);
	pthread_join(rd, NULL);
	while (lt_output_user_pop(output, &hit))
		check_record(&hit);

	for (i = 0; i < WORKERS; i++) {
		sum.in_ok += counts[i].in_ok;
		sum.in_exist += counts[i].in_exist;
		sum.in_nospc += counts[i].in_nospc;
		sum.out_ok += counts[i].out_ok;
	}
	lt_tracker_stats(tracker, &s);
	EXPECT_EQ(s.begins, sum.in_ok);
	EXPECT_EQ(s.ignored, sum.in_exist);
	EXPECT_EQ(s.dropped, sum.in_nospc);
	EXPECT_EQ(s.pairs, sum.out_ok);
	EXPECT_EQ(s.pairs + s.timeouts + s.replaced + s.cleared + s.pending,
		  s.begins);
	EXPECT_EQ(s.pending, lt_table_count(&tracker->table));
	EXPECT_EQ(s.hits + s.timeouts, read_threshold + read_timeout + s.lost);
	EXPECT(s.pairs > 0 && s.hits > 0);
	EXPECT(keys < CAPACITY || s.timeouts > 0);
	EXPECT(keys < CAPACITY || s.dropped > 0);
	EXPECT(keep_last ? s.replaced > 0 : s.ignored > 0);
	check_unique_keys();
	EXPECT_EQ(lt_pool_free_count(&tracker->pool) + s.pending, CAPACITY);
	lt_tracker_clear(tracker);
	EXPECT_EQ(lt_pool_free_count(&tracker->pool), CAPACITY);
	printf("stress keep_%s, %u keys: begins %llu pairs %llu hits %llu timeouts %llu dropped %llu ignored %llu replaced %llu cleared %llu lost %llu\n",
	       keep_last ? "last" : "first", keys,
	       (unsigned long long)s.begins, (unsigned long long)s.pairs,
	       (unsigned long long)s.hits, (unsigned long long)s.timeouts,
	       (unsigned long long)s.dropped, (unsigned long long)s.ignored,
	       (unsigned long long)s.replaced, (unsigned long long)s.cleared,
	       (unsigned long long)s.lost);
	lt_tracker_destroy(tracker);
	lt_output_destroy(output);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		ops_per_worker = strtoull(argv[1], NULL, 0);
	run(false, KEYS);
	run(true, KEYS);
	run(false, 3);	/* begins of one key race often */
	run(true, 3);
	return lt_test_result("stress");
}
