// SPDX-License-Identifier: GPL-2.0
/*
 * One test per known defect of the original latency-tracker module, plus
 * the races the table must decide:
 * - begins leaked and never reclaimed: without a timeout, stale begins are
 *   reclaimed (and counted); destroy reclaims whatever is left.
 * - a table clear that frees linked entries: clear unlinks each entry with
 *   the atomic removal while other threads insert and remove.
 * - a callback before the delete: many ends race for one begin; exactly
 *   one reports the pair and the hit.
 * - a fixed 100-event pool draining to full: the pool is sized from the
 *   capacity, fills, drops (counted), and refills to capacity over and over.
 * - racing begins of one key (keep first / keep last): one stays pending.
 */
#include <pthread.h>
#include <sched.h>
#include "lt_test.h"

#define RACERS		2	/* this machine has 2 cores */
#define CHURNERS	3

int lt_test_failures;

static struct lt_tracker *make(u32 capacity, bool keep_last, u64 timeout,
			       struct lt_output *out)
{
	struct lt_tracker_config cfg = {
		.name = "defects", .key_size = sizeof(u32),
		.capacity = capacity, .keep_last = keep_last,
		.threshold_ns = 1, .timeout_ns = timeout, .stale_ns = 1000,
	};
	struct lt_tracker *t = lt_tracker_create(&cfg, out);

	EXPECT(!IS_ERR(t));
	return t;
}

static void test_leaked_begins(void)
{
	struct lt_tracker *t = make(100, false, 0, NULL);
	struct lt_ctx ctx = lt_test_ctx(10, 0);
	struct lt_stats s;
	u32 key;

	for (key = 0; key < 100; key++)
		EXPECT_EQ(lt_event_in(t, &key, &ctx), 0);
	EXPECT_EQ(lt_event_in(t, &key, &ctx), -ENOSPC);
	EXPECT_EQ(lt_tracker_expire(t, 1010, 0), 0);	/* not older yet */
	EXPECT_EQ(lt_tracker_expire(t, 1011, 0), 100);
	lt_tracker_stats(t, &s);
	EXPECT_EQ(s.stale, 100);
	EXPECT_EQ(s.pending, 0);
	EXPECT_EQ(lt_pool_free_count(&t->pool), 100);
	EXPECT_EQ(lt_event_in(t, &key, &ctx), 0);	/* usable again */
	lt_tracker_destroy(t);	/* reclaims the one left (ASan: no leak) */
}

static void test_pool_refills(void)
{
	struct lt_tracker *t = make(100, false, 0, NULL);
	struct lt_ctx ctx = lt_test_ctx(10, 0);
	struct lt_stats s;
	u32 round, key;

	for (round = 0; round < 50; round++) {
		lt_shim_set_cpu(round);	/* events move between CPU lists */
		for (key = 0; key < 150; key++)
			EXPECT_EQ(lt_event_in(t, &key, &ctx),
				  key < 100 ? 0 : -ENOSPC);
		lt_shim_set_cpu(round + 3);
		for (key = 0; key < 100; key++)
			EXPECT_EQ(lt_event_out(t, &key, &ctx), 0);
		EXPECT_EQ(lt_pool_free_count(&t->pool), 100);
	}
	lt_tracker_stats(t, &s);
	EXPECT_EQ(s.pairs, 5000);
	EXPECT_EQ(s.dropped, 2500);
	lt_tracker_destroy(t);
}

static struct lt_tracker *shared;
static int race_ok[RACERS];

/*
 * Rounds: the main thread opens round r by setting race_go to r + 1; the
 * racers spin on it (yielding after a while: 2 cores are shared) so they
 * start as close together as possible, and count themselves done.
 */
static u32 race_go, race_done;

static void racer_start(u32 round)
{
	u32 spins = 0;

	while (__atomic_load_n(&race_go, __ATOMIC_ACQUIRE) != round + 1)
		if (++spins % 4096 == 0)
			sched_yield();
}

static void racer_done(void)
{
	__atomic_add_fetch(&race_done, 1, __ATOMIC_ACQ_REL);
}

#define ROUNDS 1000

static void *end_racer(void *arg)
{
	long id = (long)arg;
	struct lt_ctx ctx = lt_test_ctx(1000, 1);
	u32 round, key;

	lt_shim_set_cpu(id);
	for (round = 0; round < ROUNDS; round++) {
		key = round;
		racer_start(round);
		if (lt_event_out(shared, &key, &ctx) == 0)
			race_ok[id]++;
		racer_done();
	}
	return NULL;
}

static void *begin_racer(void *arg)
{
	long id = (long)arg;
	struct lt_ctx ctx;
	u32 round, key;

	lt_shim_set_cpu(id);
	for (round = 0; round < ROUNDS; round++) {
		ctx = lt_test_ctx(round * 10 + id, 1);
		key = round % 7;
		racer_start(round);
		if (lt_event_in(shared, &key, &ctx) == 0)
			race_ok[id]++;
		racer_done();
	}
	return NULL;
}

static void race(void *(*fn)(void *), void (*between)(u32 round))
{
	pthread_t th[RACERS];
	long i;
	u32 round;

	race_go = 0;
	race_done = 0;
	memset(race_ok, 0, sizeof(race_ok));
	for (i = 0; i < RACERS; i++)
		pthread_create(&th[i], NULL, fn, (void *)i);
	for (round = 0; round < ROUNDS; round++) {
		__atomic_store_n(&race_go, round + 1, __ATOMIC_RELEASE);
		while (__atomic_load_n(&race_done, __ATOMIC_ACQUIRE) <
		       (round + 1) * RACERS)
			sched_yield();
		between(round);
	}
	for (i = 0; i < RACERS; i++)
		pthread_join(th[i], NULL);
}

static void before_next_end(u32 round)
{
	struct lt_ctx ctx = lt_test_ctx(0, 0);
	u32 key = round + 1;

	EXPECT_EQ(lt_event_in(shared, &key, &ctx), 0);
}

static void test_racing_ends(void)
{
	struct lt_output *out = lt_output_create("defects", 4096);
	struct lt_ctx ctx = lt_test_ctx(0, 0);
	struct lt_stats s;
	u32 key = 0, i, ok = 0;
	struct lt_hit hit;

	shared = make(16, false, 0, out);
	EXPECT_EQ(lt_event_in(shared, &key, &ctx), 0);
	race(end_racer, before_next_end);
	for (i = 0; i < RACERS; i++)
		ok += race_ok[i];
	lt_tracker_stats(shared, &s);
	EXPECT_EQ(ok, ROUNDS);		/* one winner per begin */
	EXPECT_EQ(s.pairs, ROUNDS);
	EXPECT_EQ(s.hits, ROUNDS);
	for (i = 0; lt_output_user_pop(out, &hit); i++)
		EXPECT_EQ(hit.kind, LT_HIT_THRESHOLD);
	EXPECT_EQ(i, ROUNDS);		/* one hit per pair, never two */
	lt_tracker_destroy(shared);
	lt_output_destroy(out);
}

static void after_begins(u32 round)
{
	struct lt_ctx ctx = lt_test_ctx(round * 10 + 9, 0);
	struct lt_stats s;
	u32 key = round % 7;

	EXPECT_EQ(lt_table_count(&shared->table), 1);
	EXPECT_EQ(lt_event_out(shared, &key, &ctx), 0);
	lt_tracker_stats(shared, &s);
	EXPECT_EQ(s.pending, 0);
}

static void test_racing_begins(bool keep_last)
{
	struct lt_stats s;
	u32 i, ok = 0;

	shared = make(16, keep_last, 0, NULL);
	race(begin_racer, after_begins);
	for (i = 0; i < RACERS; i++)
		ok += race_ok[i];
	lt_tracker_stats(shared, &s);
	EXPECT_EQ(s.pairs, ROUNDS);
	EXPECT_EQ(s.begins, ok);
	EXPECT_EQ(s.begins - s.replaced, ROUNDS);
	EXPECT_EQ(s.begins + s.ignored, ROUNDS * RACERS);
	EXPECT_EQ(lt_pool_free_count(&shared->pool), 16);
	lt_tracker_destroy(shared);
}

static int clear_stop, churn_started;

static void *churn(void *arg)
{
	long id = (long)arg;
	u64 rng = id + 7, x;
	struct lt_ctx ctx;
	u32 key;

	lt_shim_set_cpu(id);
	__atomic_add_fetch(&churn_started, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&clear_stop, __ATOMIC_ACQUIRE)) {
		x = lt_rand(&rng);
		key = x % 20;
		ctx = lt_test_ctx(x >> 40, 0);
		if (x & 1 << 20)
			lt_event_in(shared, &key, &ctx);
		else
			lt_event_out(shared, &key, &ctx);
	}
	return NULL;
}

static void test_clear_while_running(void)
{
	pthread_t th[CHURNERS];
	struct lt_stats s;
	long i;

	shared = make(12, false, 0, NULL);
	clear_stop = 0;
	churn_started = 0;
	for (i = 0; i < CHURNERS; i++)
		pthread_create(&th[i], NULL, churn, (void *)i);
	while (__atomic_load_n(&churn_started, __ATOMIC_ACQUIRE) < CHURNERS)
		sched_yield();
	lt_shim_set_cpu(CHURNERS);
	for (i = 0; i < 2000; i++) {
		lt_tracker_clear(shared);
		if (i % 64 == 0)
			sched_yield();	/* let the churners run */
	}
	__atomic_store_n(&clear_stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < CHURNERS; i++)
		pthread_join(th[i], NULL);
	lt_tracker_stats(shared, &s);
	EXPECT(s.cleared > 0);
	EXPECT_EQ(s.begins, s.pairs + s.cleared + s.replaced + s.pending);
	EXPECT_EQ(lt_pool_free_count(&shared->pool) + s.pending, 12);
	lt_tracker_clear(shared);
	EXPECT_EQ(lt_pool_free_count(&shared->pool), 12);
	lt_tracker_destroy(shared);
}

int main(void)
{
	test_leaked_begins();
	test_pool_refills();
	test_racing_ends();
	test_racing_begins(false);
	test_racing_begins(true);
	test_clear_while_running();
	return lt_test_result("defects");
}
