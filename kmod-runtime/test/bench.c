// SPDX-License-Identifier: GPL-2.0
/*
 * Micro-benchmark of the runtime core in user space (no sanitizers, -O2):
 * ns per begin + end pair, and per end that finds no begin (the common case
 * for an end probe such as sched_switch), on 1 and 2 threads with their own
 * keys. Usage: bench [pairs per thread]. Not part of `make check`.
 */
#include <pthread.h>
#include "lt_test.h"

int lt_test_failures;

static struct lt_tracker *tracker;
static u64 pairs = 2000000;

static void *pair_loop(void *arg)
{
	long id = (long)arg;
	struct lt_ctx ctx = lt_test_ctx(0, 0);
	u32 key;
	u64 i;

	lt_shim_set_cpu(id);
	for (i = 0; i < pairs; i++) {
		key = (u32)(id << 16 | (i & 1023));
		ctx.ts_ns = i;
		lt_event_in(tracker, &key, &ctx);
		ctx.ts_ns = i + 100;
		lt_event_out(tracker, &key, &ctx);
	}
	return NULL;
}

static void *miss_loop(void *arg)
{
	long id = (long)arg;
	struct lt_ctx ctx = lt_test_ctx(0, 0);
	u32 key;
	u64 i;

	lt_shim_set_cpu(id);
	for (i = 0; i < pairs; i++) {
		key = (u32)(id << 16 | (i & 1023));
		lt_event_out(tracker, &key, &ctx);
	}
	return NULL;
}

static void run(const char *what, void *(*fn)(void *), long threads)
{
	pthread_t th[2];
	u64 start;
	long i;

	start = ktime_get_mono_fast_ns();
	for (i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, fn, (void *)i);
	for (i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	printf("%-34s %ld thread(s): %6.1f ns each (wall, per thread)\n", what, threads,
	       (double)(ktime_get_mono_fast_ns() - start) / pairs);
}

int main(int argc, char **argv)
{
	struct lt_tracker_config cfg = {
		.name = "bench", .key_size = sizeof(u32), .capacity = 8192,
		.threshold_ns = 1000000,
	};

	if (argc > 1)
		pairs = strtoull(argv[1], NULL, 0);
	tracker = lt_tracker_create(&cfg, NULL);
	run("begin + end (pair)", pair_loop, 1);
	run("begin + end (pair)", pair_loop, 2);
	run("end with no pending begin (miss)", miss_loop, 1);
	lt_tracker_destroy(tracker);
	return 0;
}
