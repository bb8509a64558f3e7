// SPDX-License-Identifier: GPL-2.0
/*
 * The tracker: begin/end pairing, counters, timeout sweep.
 *
 * lt_event_in() takes an event from the pool and publishes it in the table;
 * lt_event_out() removes the key's event from the table first and only then,
 * if its removal won, counts the pair and reports a hit. Counters and the
 * log2 histogram are per CPU (atomic64, so NMIs nesting on a CPU are safe).
 *
 * Timeouts: a delayed work scans a quarter of the table per run, runs every
 * timeout/8 (at least one jiffy), so a whole pass takes timeout/2: a timeout
 * is reported between timeout_ns and ~1.5 * timeout_ns + 2 jiffies after its
 * begin. The classification is exact regardless: an end arriving after the
 * deadline but before the sweep finds the begin is reported as the timeout.
 * Without a timeout the sweep runs every 250 ms and reclaims begins older
 * than stale_ns, so begins whose end never comes cannot fill the table.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/err.h>
#include <linux/jiffies.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/stacktrace.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/workqueue.h>
#include "lt_internal.h"

/* The begin-side captures kept for pool event @ev; NULL without captures. */
static u8 *lt_captures_of(struct lt_tracker *t, struct lt_event *ev)
{
	if (!t->captures)
		return NULL;
	return t->captures + (size_t)(ev - t->pool.events) * t->capture_size;
}

/* The record after a hit that carries captures: the begin's, then the end's. */
static void lt_fill_captures(struct lt_tracker *t, struct lt_hit *rec,
			     struct lt_event *ev, const void *end_captures)
{
	u8 *bytes = (u8 *)rec;

	memset(rec, 0, sizeof(*rec));
	rec->tracker = t->index;
	rec->kind = LT_HIT_CAPTURES;
	memcpy(bytes + LT_CAPTURE_AT, lt_captures_of(t, ev), t->capture_size);
	if (end_captures)
		memcpy(bytes + LT_CAPTURE_AT + t->capture_size, end_captures,
		       t->capture_size);
}

/*
 * Reports a hit for @ev (owned by the caller); @end NULL for a timeout. A
 * tracker with captures sends them in a second record, pushed with the hit.
 */
static void lt_emit(struct lt_tracker *t, struct lt_event *ev, u32 kind,
		    u64 latency, const struct lt_ctx *end,
		    const void *end_captures)
{
	struct lt_hit recs[2];
	struct lt_hit *hit = &recs[0];

	if (!t->out)
		return;
	hit->tracker = t->index;
	hit->kind = kind;
	hit->latency_ns = latency;
	hit->key_size = t->key_size;
	hit->reserved = 0;
	memcpy(hit->key, ev->key, LT_KEY_MAX);
	hit->begin = ev->begin;
	if (end) {
		hit->end = *end;
		hit->end.reserved = 0;
	} else {
		memset(&hit->end, 0, sizeof(hit->end));
	}
	hit->reserved2 = 0;
	memset(hit->stack, 0, sizeof(hit->stack));
	/* from the end probe: the stack of the end event (a timeout has none) */
	hit->stack_len = end && t->stack ?
		stack_trace_save((unsigned long *)hit->stack, LT_STACK_MAX, 0) : 0;
	if (t->captures)
		lt_fill_captures(t, &recs[1], ev, end ? end_captures : NULL);
	if (lt_output_push_n(t->out, recs, t->captures ? 2 : 1))
		atomic64_inc(&lt_stats_this_cpu(t)->lost);
}

static void lt_timeout(struct lt_tracker *t, struct lt_event *ev, u64 timeout)
{
	atomic64_inc(&lt_stats_this_cpu(t)->timeouts);
	lt_emit(t, ev, LT_HIT_TIMEOUT, timeout, NULL, NULL);
	lt_pool_put(&t->pool, ev);
}

/*
 * The begin, shared by lt_event_in() and lt_event_in_captured(): always
 * inline, so each is one function on the probe's path and lt_event_in()
 * drops the captures code (@captures NULL at compile time).
 */
static __always_inline int lt_begin(struct lt_tracker *t, const void *key,
				    const struct lt_ctx *ctx,
				    const void *captures)
{
	struct lt_key k;
	struct lt_event *ev;
	u32 replaced, i;
	int ret;

	lt_key_init(&k, key, t->key_size);
	ev = lt_pool_get(&t->pool);
	if (!ev) {
		/* a begin for a pending key is ignored, not dropped */
		if (!t->keep_last && lt_table_contains(&t->table, &k))
			goto ignored;
		atomic64_inc(&lt_stats_this_cpu(t)->dropped);
		return -ENOSPC;
	}
	for (i = 0; i < LT_KEY_WORDS; i++)
		WRITE_ONCE(ev->key[i], k.w[i]);
	WRITE_ONCE(ev->begin_ns, ctx->ts_ns);
	ev->begin = *ctx;
	ev->begin.reserved = 0;	/* goes to user space */
	if (t->captures) {
		/* before the insert publishes ev, as its context */
		if (captures)
			memcpy(lt_captures_of(t, ev), captures, t->capture_size);
		else
			memset(lt_captures_of(t, ev), 0, t->capture_size);
	}
	ret = lt_table_insert(&t->table, &k, ev, t->keep_last, &replaced);
	if (ret) {
		lt_pool_put(&t->pool, ev);
		if (ret == -EEXIST)
			goto ignored;
		atomic64_inc(&lt_stats_this_cpu(t)->dropped);
		return ret;
	}
	atomic64_inc(&lt_stats_this_cpu(t)->begins);
	if (replaced)
		atomic64_add(replaced, &lt_stats_this_cpu(t)->replaced);
	return 0;

ignored:
	atomic64_inc(&lt_stats_this_cpu(t)->ignored);
	return -EEXIST;
}

int lt_event_in(struct lt_tracker *t, const void *key,
		const struct lt_ctx *ctx)
{
	return lt_begin(t, key, ctx, NULL);
}

int lt_event_in_captured(struct lt_tracker *t, const void *key,
			 const struct lt_ctx *ctx, const void *captures)
{
	return lt_begin(t, key, ctx, captures);
}

/*
 * Removes the pending begin of @key for an end or a cancel at @ctx. Returns it with its
 * latency in *@latency, or NULL when there is none or it was past its deadline (then it
 * is reported and freed as a timeout, as the replay reference does). Always inline: it
 * is most of an end's path.
 */
static __always_inline struct lt_event *lt_take(struct lt_tracker *t,
						const void *key,
						const struct lt_ctx *ctx,
						u64 *latency)
{
	struct lt_event *ev;
	struct lt_key k;
	u64 timeout;

	lt_key_init(&k, key, t->key_size);
	ev = lt_table_remove(&t->table, &k);
	if (!ev)
		return NULL;
	/* we won the removal: ev is ours alone from here on */
	*latency = ctx->ts_ns > ev->begin.ts_ns ? ctx->ts_ns - ev->begin.ts_ns : 0;
	timeout = READ_ONCE(t->timeout_ns);
	if (timeout && *latency > timeout) {
		lt_timeout(t, ev, timeout);
		return NULL;
	}
	return ev;
}

/* The end, shared by lt_event_out() and lt_event_out_captured() as lt_begin(). */
static __always_inline int lt_end(struct lt_tracker *t, const void *key,
				  const struct lt_ctx *ctx,
				  const void *captures)
{
	u64 latency, threshold;
	struct lt_event *ev;

	ev = lt_take(t, key, ctx, &latency);
	if (!ev)
		return -ENOENT;
	lt_record_pair(t, latency);
	threshold = READ_ONCE(t->threshold_ns);
	if (threshold && latency > threshold) {
		atomic64_inc(&lt_stats_this_cpu(t)->hits);
		lt_emit(t, ev, LT_HIT_THRESHOLD, latency, ctx, captures);
	}
	lt_pool_put(&t->pool, ev);
	return 0;
}

int lt_event_out(struct lt_tracker *t, const void *key,
		 const struct lt_ctx *ctx)
{
	return lt_end(t, key, ctx, NULL);
}

int lt_event_out_captured(struct lt_tracker *t, const void *key,
			  const struct lt_ctx *ctx, const void *captures)
{
	return lt_end(t, key, ctx, captures);
}

int lt_event_cancel(struct lt_tracker *t, const void *key,
		    const struct lt_ctx *ctx)
{
	struct lt_event *ev;
	u64 age;

	ev = lt_take(t, key, ctx, &age);
	if (!ev)
		return -ENOENT;
	atomic64_inc(&lt_stats_this_cpu(t)->cancelled);
	lt_pool_put(&t->pool, ev);
	return 0;
}

u32 lt_tracker_expire(struct lt_tracker *t, u64 now_ns, u32 max_slots)
{
	u32 size = lt_table_size(&t->table);
	u64 timeout = READ_ONCE(t->timeout_ns);
	u64 limit = timeout ? timeout : t->stale_ns;
	struct lt_event *ev;
	u32 start, i, removed = 0;

	if (limit == U64_MAX || now_ns <= limit)
		return 0;
	if (!max_slots || max_slots > size)
		max_slots = size;
	/* concurrent sweeps (tests) take different slices */
	start = atomic_add_return(max_slots, &t->sweep_pos) - max_slots;
	for (i = 0; i < max_slots; i++) {
		ev = lt_table_remove_older(&t->table, (start + i) & (size - 1),
					   now_ns - limit);
		if (!ev)
			continue;
		removed++;
		if (timeout) {
			lt_timeout(t, ev, timeout);
		} else {
			atomic64_inc(&lt_stats_this_cpu(t)->stale);
			lt_pool_put(&t->pool, ev);
		}
	}
	return removed;
}

static unsigned long lt_sweep_period(struct lt_tracker *t)
{
	u64 timeout = READ_ONCE(t->timeout_ns);
	unsigned long period;

	if (!timeout)
		return HZ / 4 ? HZ / 4 : 1;
	period = nsecs_to_jiffies(timeout / 8);
	return period ? period : 1;
}

static void lt_sweep_work(struct work_struct *work)
{
	struct lt_tracker *t = container_of(to_delayed_work(work),
					    struct lt_tracker, sweep);

	lt_tracker_expire(t, ktime_get_mono_fast_ns(), t->sweep_slice);
	schedule_delayed_work(&t->sweep, lt_sweep_period(t));
}

static int lt_config_check(const struct lt_tracker_config *cfg)
{
	if (!cfg || !cfg->name)
		return -EINVAL;
	if (!cfg->key_size || cfg->key_size > LT_KEY_MAX)
		return -EINVAL;
	if (!cfg->capacity || cfg->capacity > LT_CAPACITY_MAX)
		return -EINVAL;
	if (cfg->capture_size > LT_CAPTURE_MAX)
		return -EINVAL;
	return 0;
}

static void lt_stats_init(struct lt_tracker *t)
{
	int cpu;

	for_each_possible_cpu(cpu)
		atomic64_set(&per_cpu_ptr(t->stats, cpu)->min_ns, -1);
}

struct lt_tracker *lt_tracker_create(const struct lt_tracker_config *cfg,
				     struct lt_output *out)
{
	struct lt_tracker *t;
	int err;

	err = lt_config_check(cfg);
	if (err)
		return ERR_PTR(err);
	t = kzalloc(sizeof(*t), GFP_KERNEL);
	if (!t)
		return ERR_PTR(-ENOMEM);
	strscpy(t->name, cfg->name, sizeof(t->name));
	t->index = cfg->index;
	t->key_size = cfg->key_size;
	t->capacity = cfg->capacity;
	t->keep_last = cfg->keep_last;
	t->stack = cfg->stack;
	t->threshold_ns = cfg->threshold_ns;
	t->timeout_ns = cfg->timeout_ns;
	t->stale_ns = cfg->stale_ns ? cfg->stale_ns : LT_DEFAULT_STALE_NS;
	t->out = out;
	t->capture_size = cfg->capture_size;
	err = -ENOMEM;
	if (t->capture_size) {
		t->captures = kvcalloc(cfg->capacity, t->capture_size,
				       GFP_KERNEL);
		if (!t->captures)
			goto free_tracker;
	}
	t->stats = alloc_percpu(struct lt_cpu_stats);
	if (!t->stats)
		goto free_captures;
	lt_stats_init(t);
	err = lt_pool_init(&t->pool, cfg->capacity);
	if (err)
		goto free_stats;
	err = lt_table_init(&t->table, &t->pool, cfg->capacity, cfg->key_size);
	if (err)
		goto fini_pool;
	t->sweep_slice = max(lt_table_size(&t->table) / 4, 1U);
	INIT_DELAYED_WORK(&t->sweep, lt_sweep_work);
	schedule_delayed_work(&t->sweep, lt_sweep_period(t));
	return t;

fini_pool:
	lt_pool_fini(&t->pool);
free_stats:
	free_percpu(t->stats);
free_captures:
	kvfree(t->captures);
free_tracker:
	kfree(t);
	return ERR_PTR(err);
}

void lt_tracker_clear(struct lt_tracker *t)
{
	u32 pos, size = lt_table_size(&t->table);
	struct lt_event *ev;

	for (pos = 0; pos < size; pos++) {
		ev = lt_table_remove_at(&t->table, pos);
		if (!ev)
			continue;
		atomic64_inc(&lt_stats_this_cpu(t)->cleared);
		lt_pool_put(&t->pool, ev);
	}
}

void lt_tracker_stop(struct lt_tracker *t)
{
	if (IS_ERR_OR_NULL(t))
		return;
	/* the work requeues only itself: this also keeps it from coming back */
	cancel_delayed_work_sync(&t->sweep);
}

void lt_tracker_destroy(struct lt_tracker *t)
{
	if (IS_ERR_OR_NULL(t))
		return;
	cancel_delayed_work_sync(&t->sweep);
	if (t->listed_in)
		lt_output_remove_tracker(t->listed_in, t);
	lt_tracker_clear(t);
	if (lt_pool_free_count(&t->pool) != t->capacity)
		pr_warn("tracker %s: %u of %u events not returned\n", t->name,
			t->capacity - lt_pool_free_count(&t->pool),
			t->capacity);
	lt_table_fini(&t->table);
	lt_pool_fini(&t->pool);
	free_percpu(t->stats);
	kvfree(t->captures);
	kfree(t);
}

void lt_tracker_set_threshold(struct lt_tracker *t, u64 ns)
{
	WRITE_ONCE(t->threshold_ns, ns);
}

void lt_tracker_set_timeout(struct lt_tracker *t, u64 ns)
{
	WRITE_ONCE(t->timeout_ns, ns);
}

const char *lt_tracker_name(const struct lt_tracker *t)
{
	return t->name;
}

static void lt_stats_add(struct lt_stats *out, struct lt_cpu_stats *s)
{
	u64 min = atomic64_read(&s->min_ns), max = atomic64_read(&s->max_ns);
	u32 i;

	out->begins += atomic64_read(&s->begins);
	out->pairs += atomic64_read(&s->pairs);
	out->hits += atomic64_read(&s->hits);
	out->timeouts += atomic64_read(&s->timeouts);
	out->dropped += atomic64_read(&s->dropped);
	out->lost += atomic64_read(&s->lost);
	out->ignored += atomic64_read(&s->ignored);
	out->replaced += atomic64_read(&s->replaced);
	out->stale += atomic64_read(&s->stale);
	out->cleared += atomic64_read(&s->cleared);
	out->cancelled += atomic64_read(&s->cancelled);
	out->broken += atomic64_read(&s->broken);
	out->unmoved += atomic64_read(&s->unmoved);
	out->sum_ns += atomic64_read(&s->sum_ns);
	if (min < out->min_ns)
		out->min_ns = min;
	if (max > out->max_ns)
		out->max_ns = max;
	for (i = 0; i < LT_HIST_BUCKETS; i++)
		out->hist[i] += atomic64_read(&s->hist[i]);
}

void lt_tracker_stats(struct lt_tracker *t, struct lt_stats *out)
{
	u64 gone;
	int cpu;

	memset(out, 0, sizeof(*out));
	out->min_ns = U64_MAX;
	for_each_possible_cpu(cpu)
		lt_stats_add(out, per_cpu_ptr(t->stats, cpu));
	if (out->min_ns == U64_MAX)
		out->min_ns = 0;
	gone = out->pairs + out->timeouts + out->replaced + out->stale +
	       out->cleared + out->cancelled + out->broken + out->unmoved;
	out->pending = out->begins > gone ? out->begins - gone : 0;
}
