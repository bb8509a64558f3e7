// SPDX-License-Identifier: GPL-2.0
/*
 * Concurrent in-kernel stress of the runtime, run by the self-test module.
 *
 * One kthread per online CPU does begins and ends on a few overlapping keys
 * and sweeps timeouts, while a 20 us hrtimer does the same from hardirq
 * context, nesting inside the threads' operations. Afterwards the tracker's
 * counters must match the return codes counted by the callers, the table
 * must hold what the counters say is pending, and the pool must be full
 * again after a clear. Hits go to /dev/ltsh_selftest_stress, so that user
 * space can check that records + lost == hits + timeouts.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/hrtimer.h>
#include <linux/kthread.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include "lt_internal.h"
#include "lt_selftest.h"

#define LT_SS_KEYS	24
#define LT_SS_CAPACITY	16

struct lt_ss_counts {
	atomic64_t in_ok;
	atomic64_t in_exist;
	atomic64_t in_nospc;
	atomic64_t out_ok;
};

static struct lt_tracker *lt_ss_tracker;
static struct lt_ss_counts lt_ss_counts;
static struct hrtimer lt_ss_timer;
static atomic_t lt_ss_timer_ops;

static void lt_ss_op(u32 r)
{
	struct lt_ctx ctx;
	u32 key = r % LT_SS_KEYS;
	int ret;

	lt_ctx_fill(&ctx, r & 1);
	switch ((r >> 8) % 16) {
	case 0 ... 6:
		ret = lt_event_in(lt_ss_tracker, &key, &ctx);
		if (!ret)
			atomic64_inc(&lt_ss_counts.in_ok);
		else if (ret == -EEXIST)
			atomic64_inc(&lt_ss_counts.in_exist);
		else
			atomic64_inc(&lt_ss_counts.in_nospc);
		break;
	case 7 ... 14:
		if (!lt_event_out(lt_ss_tracker, &key, &ctx))
			atomic64_inc(&lt_ss_counts.out_ok);
		break;
	default:
		lt_tracker_expire(lt_ss_tracker, ctx.ts_ns, 16);
		break;
	}
}

static u32 lt_ss_next(u32 *state)
{
	*state = *state * 1103515245 + 12345;
	return *state >> 4;
}

static int lt_ss_thread(void *data)
{
	u32 state = (u32)(unsigned long)data * 7919 + 1;
	unsigned long n = 0;

	while (!kthread_should_stop()) {
		lt_ss_op(lt_ss_next(&state));
		if (++n % 256 == 0)
			cond_resched();
	}
	return 0;
}

static enum hrtimer_restart lt_ss_timer_fn(struct hrtimer *timer)
{
	static u32 state = 4242;

	lt_ss_op(lt_ss_next(&state));
	atomic_inc(&lt_ss_timer_ops);
	hrtimer_forward_now(timer, ns_to_ktime(20 * NSEC_PER_USEC));
	return HRTIMER_RESTART;
}

static void lt_ss_check(struct lt_selftest_checks *c)
{
	struct lt_stats s;

	lt_tracker_stats(lt_ss_tracker, &s);
	pr_info("stress: begins=%llu pairs=%llu hits=%llu timeouts=%llu dropped=%llu ignored=%llu replaced=%llu lost=%llu irq_ops=%d\n",
		s.begins, s.pairs, s.hits, s.timeouts, s.dropped, s.ignored,
		s.replaced, s.lost, atomic_read(&lt_ss_timer_ops));
	LT_SELFTEST_CHECK(c, s.begins == atomic64_read(&lt_ss_counts.in_ok));
	LT_SELFTEST_CHECK(c, s.ignored == atomic64_read(&lt_ss_counts.in_exist));
	LT_SELFTEST_CHECK(c, s.dropped == atomic64_read(&lt_ss_counts.in_nospc));
	LT_SELFTEST_CHECK(c, s.pairs == atomic64_read(&lt_ss_counts.out_ok));
	LT_SELFTEST_CHECK(c, s.begins == s.pairs + s.timeouts + s.replaced +
			  s.pending);
	LT_SELFTEST_CHECK(c, s.pending == lt_table_count(&lt_ss_tracker->table));
	LT_SELFTEST_CHECK(c, s.pairs > 0 && s.timeouts > 0 && s.dropped > 0);
	LT_SELFTEST_CHECK(c, atomic_read(&lt_ss_timer_ops) > 0);
	lt_tracker_clear(lt_ss_tracker);
	LT_SELFTEST_CHECK(c, lt_pool_free_count(&lt_ss_tracker->pool) ==
			  LT_SS_CAPACITY);
}

/**
 * lt_selftest_stress() - run the stress for @ms milliseconds and check it
 * @out: output for the stress tracker's hits
 * @ms: duration
 * @c: check counters
 *
 * Return: 0, or an error when the tracker or the threads cannot be created.
 */
int lt_selftest_stress(struct lt_output *out, unsigned int ms,
		       struct lt_selftest_checks *c)
{
	struct lt_tracker_config cfg = {
		.name = "stress", .index = 1, .key_size = sizeof(u32),
		.capacity = LT_SS_CAPACITY, .threshold_ns = 1000,
		.timeout_ns = 200 * NSEC_PER_USEC,
	};
	struct task_struct **threads;
	unsigned int cpu, n = 0;
	int err = 0;

	lt_ss_tracker = lt_tracker_create(&cfg, out);
	if (IS_ERR(lt_ss_tracker))
		return PTR_ERR(lt_ss_tracker);
	err = lt_output_add_tracker(out, lt_ss_tracker);
	if (err)
		goto destroy_tracker;
	threads = kcalloc(nr_cpu_ids, sizeof(*threads), GFP_KERNEL);
	if (!threads) {
		err = -ENOMEM;
		goto destroy_tracker;
	}
	for_each_online_cpu(cpu) {
		threads[n] = kthread_run(lt_ss_thread, (void *)(unsigned long)cpu,
					 "lt_stress/%u", cpu);
		if (IS_ERR(threads[n])) {
			err = PTR_ERR(threads[n]);
			goto stop_threads;
		}
		n++;
	}
	hrtimer_init(&lt_ss_timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	lt_ss_timer.function = lt_ss_timer_fn;
	hrtimer_start(&lt_ss_timer, ns_to_ktime(20 * NSEC_PER_USEC),
		      HRTIMER_MODE_REL);
	msleep(ms);
	hrtimer_cancel(&lt_ss_timer);
stop_threads:
	while (n--)
		kthread_stop(threads[n]);
	kfree(threads);
	if (!err)
		lt_ss_check(c);
	return err;

destroy_tracker:
	lt_tracker_destroy(lt_ss_tracker);
	lt_ss_tracker = NULL;
	return err;
}

/* Removes the stress tracker; before its output goes. */
void lt_selftest_stress_exit(void)
{
	lt_tracker_destroy(lt_ss_tracker);
}
