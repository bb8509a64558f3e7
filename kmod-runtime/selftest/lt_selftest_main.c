// SPDX-License-Identifier: GPL-2.0
/*
 * In-kernel self test of the ltsh kmod runtime.
 *
 * insmod lt_selftest.ko runs single-CPU checks of the tracker API (pairing,
 * keep-first, capacity and drops, timeouts, stale reclaim, clear, the pool
 * returning to capacity), then a concurrent stress (lt_selftest_stress.c,
 * stress_ms=300 by default, 0 to skip), and prints
 * "lt_selftest: PASS (N checks)" or the failures. It stays loaded: the
 * hits of the checks (8 threshold, 3 timeout) are in /dev/ltsh_selftest,
 * the counters in /proc/ltsh_selftest/stats; those of the stress in
 * /dev/ltsh_selftest_stress and /proc/ltsh_selftest_stress/stats. Writing
 * N to /sys/module/lt_selftest/parameters/fire makes N more threshold hits
 * (to test blocking reads and poll()). rmmod removes it all.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include "lt_internal.h"
#include "lt_selftest.h"

#define LT_ST_CAPACITY	64

static struct lt_output *lt_st_out, *lt_st_stress_out;
static struct lt_tracker *lt_st_tracker;
static struct lt_selftest_checks lt_st_checks;

static unsigned int stress_ms = 300;
module_param(stress_ms, uint, 0444);
MODULE_PARM_DESC(stress_ms, "duration of the concurrent stress (0: none)");

#define LT_ST_CHECK(cond) LT_SELFTEST_CHECK(&lt_st_checks, cond)

static struct lt_ctx lt_st_ctx(u64 ts)
{
	struct lt_ctx ctx;

	lt_ctx_fill(&ctx, 0);
	ctx.ts_ns = ts;
	return ctx;
}

static void lt_st_pairs(struct lt_tracker *t)
{
	struct lt_ctx ctx;
	struct lt_stats s;
	u32 key;

	for (key = 0; key < 10; key++) {
		ctx = lt_st_ctx(1000);
		LT_ST_CHECK(lt_event_in(t, &key, &ctx) == 0);
		LT_ST_CHECK(lt_event_in(t, &key, &ctx) == -EEXIST);
	}
	for (key = 0; key < 10; key++) {
		ctx = lt_st_ctx(1000 + 100 * key);
		LT_ST_CHECK(lt_event_out(t, &key, &ctx) == 0);
		LT_ST_CHECK(lt_event_out(t, &key, &ctx) == -ENOENT);
	}
	lt_tracker_stats(t, &s);
	LT_ST_CHECK(s.pairs == 10 && s.ignored == 10 && s.pending == 0);
	LT_ST_CHECK(s.min_ns == 0 && s.max_ns == 900);
	LT_ST_CHECK(s.hits == 8);	/* threshold 100: latencies 200..900 */
	LT_ST_CHECK(s.sum_ns == 4500);
	/* bucket k: 2^(k-1) < v <= 2^k; 0 in bucket 0, 100 in (64, 128] */
	LT_ST_CHECK(s.hist[0] == 1 && s.hist[7] == 1 && s.hist[8] == 1);
	LT_ST_CHECK(s.hist[9] == 3 && s.hist[10] == 4);
}

static void lt_st_capacity(struct lt_tracker *t)
{
	struct lt_ctx ctx = lt_st_ctx(5000);
	struct lt_stats s;
	u32 key;

	for (key = 100; key < 100 + LT_ST_CAPACITY; key++)
		LT_ST_CHECK(lt_event_in(t, &key, &ctx) == 0);
	LT_ST_CHECK(lt_event_in(t, &key, &ctx) == -ENOSPC);
	LT_ST_CHECK(lt_pool_free_count(&t->pool) == 0);
	for (key = 100; key < 100 + LT_ST_CAPACITY; key++)
		LT_ST_CHECK(lt_event_out(t, &key, &ctx) == 0);
	LT_ST_CHECK(lt_pool_free_count(&t->pool) == LT_ST_CAPACITY);
	LT_ST_CHECK(lt_event_in(t, &key, &ctx) == 0);
	lt_tracker_stats(t, &s);
	LT_ST_CHECK(s.dropped == 1 && s.pending == 1);
}

static void lt_st_timeouts(struct lt_tracker *t)
{
	struct lt_ctx ctx = lt_st_ctx(10000);
	struct lt_stats s;
	u32 key = 7;

	lt_tracker_set_timeout(t, 1000);
	LT_ST_CHECK(lt_event_in(t, &key, &ctx) == 0);
	ctx.ts_ns = 12000;	/* end after the deadline: a timeout */
	LT_ST_CHECK(lt_event_out(t, &key, &ctx) == -ENOENT);
	key = 8;
	LT_ST_CHECK(lt_event_in(t, &key, &ctx) == 0);
	LT_ST_CHECK(lt_tracker_expire(t, 20000, 0) == 2); /* + capacity's */
	lt_tracker_stats(t, &s);
	LT_ST_CHECK(s.timeouts == 3 && s.pending == 0);
	lt_tracker_set_timeout(t, 0);

	key = 9;	/* no timeout: reclaimed as stale after stale_ns */
	LT_ST_CHECK(lt_event_in(t, &key, &ctx) == 0);
	LT_ST_CHECK(lt_tracker_expire(t, 12001 + LT_DEFAULT_STALE_NS, 0) == 1);
	key = 10;
	LT_ST_CHECK(lt_event_in(t, &key, &ctx) == 0);
	lt_tracker_clear(t);
	lt_tracker_stats(t, &s);
	LT_ST_CHECK(s.stale == 1 && s.cleared == 1 && s.pending == 0);
	LT_ST_CHECK(lt_pool_free_count(&t->pool) == LT_ST_CAPACITY);
}

/* Writing N makes N pairs of 1 ms on key 1000: N threshold hits. */
static int lt_st_fire_set(const char *val, const struct kernel_param *kp)
{
	struct lt_ctx ctx;
	unsigned int i, n;
	u32 key = 1000;
	int err;

	err = kstrtouint(val, 0, &n);
	if (err)
		return err;
	for (i = 0; i < n && i < 10000; i++) {
		lt_ctx_fill(&ctx, 0);
		lt_event_in(lt_st_tracker, &key, &ctx);
		ctx.ts_ns += NSEC_PER_MSEC;
		lt_event_out(lt_st_tracker, &key, &ctx);
	}
	return 0;
}

static const struct kernel_param_ops lt_st_fire_ops = {
	.set = lt_st_fire_set,
};
module_param_cb(fire, &lt_st_fire_ops, NULL, 0200);
MODULE_PARM_DESC(fire, "write N: N more threshold hits");

static int __init lt_selftest_init(void)
{
	struct lt_tracker_config cfg = {
		.name = "selftest",
		.key_size = sizeof(u32),
		.capacity = LT_ST_CAPACITY,
		.threshold_ns = 100,
	};
	int err;

	lt_st_out = lt_output_create("selftest", 0);
	if (IS_ERR(lt_st_out))
		return PTR_ERR(lt_st_out);
	lt_st_tracker = lt_tracker_create(&cfg, lt_st_out);
	if (IS_ERR(lt_st_tracker)) {
		err = PTR_ERR(lt_st_tracker);
		goto destroy_output;
	}
	err = lt_output_add_tracker(lt_st_out, lt_st_tracker);
	if (err)
		goto destroy_tracker;
	lt_st_pairs(lt_st_tracker);
	lt_st_capacity(lt_st_tracker);
	lt_st_timeouts(lt_st_tracker);
	if (stress_ms) {
		lt_st_stress_out = lt_output_create("selftest_stress", 1024);
		err = PTR_ERR_OR_ZERO(lt_st_stress_out);
		if (!err)
			err = lt_selftest_stress(lt_st_stress_out, stress_ms,
						 &lt_st_checks);
		LT_ST_CHECK(err == 0);
	}
	if (lt_st_checks.failures)
		pr_err("FAIL (%u of %u checks)\n", lt_st_checks.failures,
		       lt_st_checks.checks);
	else
		pr_info("PASS (%u checks)\n", lt_st_checks.checks);
	return 0;

destroy_tracker:
	lt_tracker_destroy(lt_st_tracker);
destroy_output:
	lt_output_destroy(lt_st_out);
	return err;
}

static void __exit lt_selftest_exit(void)
{
	lt_selftest_stress_exit();
	lt_output_destroy(lt_st_stress_out);
	lt_tracker_destroy(lt_st_tracker);
	lt_output_destroy(lt_st_out);
}

module_init(lt_selftest_init);
module_exit(lt_selftest_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Self test of the ltsh kmod latency-tracker runtime");
