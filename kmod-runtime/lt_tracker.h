/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Public API of ltsh's kernel-module latency-tracker runtime.
 *
 * A tracker pairs begin and end events by key and measures the time between
 * them. Probes call lt_event_in() and lt_event_out() from any context
 * (process, softirq, hardirq, NMI): both are lock-free and never allocate.
 * Hits (pairs longer than the threshold, and timeouts) go to an lt_output,
 * a ring of fixed-size struct lt_hit records that user space reads from
 * /dev/ltsh_<module> with read() and poll(); counters and the latency
 * histogram are in /proc/ltsh_<module>/stats (see lt_output_create()).
 *
 * Typical use in a module (error handling shortened):
 *
 *	out = lt_output_create(KBUILD_MODNAME, 4096);
 *	t = lt_tracker_create(&cfg, out);	(one per tracker)
 *	lt_output_add_tracker(out, t);
 *	... register tracepoint probes calling lt_ctx_fill() + lt_event_in/out ...
 *	... on exit: unregister probes, tracepoint_synchronize_unregister() ...
 *	lt_tracker_destroy(t);
 *	lt_output_destroy(out);
 *
 * Objects to link with the module: see LT_RUNTIME_OBJS in kmod-runtime/Kbuild.inc.
 */
#ifndef LT_TRACKER_H
#define LT_TRACKER_H

#include <linux/build_bug.h>
#include <linux/sched.h>
#include <linux/smp.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/types.h>

#define LT_KEY_MAX		32	/* bytes; keys are fixed-size, zero-padded */
#define LT_COMM_LEN		16
#define LT_STACK_MAX		16	/* return addresses kept per hit */
#define LT_HIST_BUCKETS		64
#define LT_CAPACITY_MAX		(1U << 22)	/* pending begins per tracker */
#define LT_DEFAULT_STALE_NS	(10ULL * 1000 * 1000 * 1000)

#define LT_OUTPUT_TRACKERS_MAX	64	/* trackers in one stats file */

#define LT_HIT_THRESHOLD	1
#define LT_HIT_TIMEOUT		2
/* The record after a hit of a tracker with captures (see LT_CAPTURE_MAX). */
#define LT_HIT_CAPTURES		4

/*
 * Bytes of event fields a tracker may capture per side (`then print`, the
 * key task's name): the begin's are kept with the pending begin, the end's
 * read at the end, and a hit of such a tracker is followed by one record of
 * kind LT_HIT_CAPTURES holding, from offset 16, the begin's capture_size
 * bytes then the end's (zero for a timeout).
 */
#define LT_CAPTURE_MAX		128
#define LT_CAPTURE_AT		16

/**
 * struct lt_ctx - context of a begin or end event (40 bytes)
 * @ts_ns: CLOCK_MONOTONIC time of the event (ktime_get_mono_fast_ns())
 * @cpu: CPU the event fired on
 * @tid: thread id (task->pid)
 * @pid: process id (task->tgid)
 * @probe: index of the begin/end alternative in the tracker's plan
 * @reserved: zero
 * @comm: task name, NUL-padded
 *
 * Offsets: ts_ns 0, cpu 8, tid 12, pid 16, probe 20, comm 24.
 */
struct lt_ctx {
	u64 ts_ns;
	u32 cpu;
	s32 tid;
	s32 pid;
	u16 probe;
	u16 reserved;
	char comm[LT_COMM_LEN];
};

/**
 * struct lt_hit - one record read from /dev/ltsh_<module> (272 bytes)
 * @tracker: lt_tracker_config.index of the tracker that produced it
 * @kind: LT_HIT_THRESHOLD or LT_HIT_TIMEOUT
 * @latency_ns: end.ts_ns - begin.ts_ns; for a timeout, the timeout in effect
 *	(so begin.ts_ns + latency_ns is the deadline that passed)
 * @key_size: bytes of @key in use (the tracker's key_size)
 * @reserved: zero
 * @key: the key, zero-padded to LT_KEY_MAX
 * @begin: context of the begin event
 * @end: context of the end event; all zero for a timeout
 * @stack_len: return addresses in @stack: the kernel stack of the end event
 *	when the tracker records stacks (lt_tracker_config.stack), else 0
 * @reserved2: zero
 * @stack: innermost first, then zero
 *
 * Offsets: tracker 0, kind 4, latency_ns 8, key_size 16, key 24, begin 56,
 * end 96, stack_len 136, stack 144. Native byte order, no padding beyond
 * the named fields.
 */
struct lt_hit {
	u32 tracker;
	u32 kind;
	u64 latency_ns;
	u32 key_size;
	u32 reserved;
	u8 key[LT_KEY_MAX];
	struct lt_ctx begin;
	struct lt_ctx end;
	u32 stack_len;
	u32 reserved2;
	u64 stack[LT_STACK_MAX];
};

static_assert(sizeof(struct lt_ctx) == 40, "lt_ctx is part of the user ABI");
static_assert(sizeof(struct lt_hit) == 272, "lt_hit is part of the user ABI");

/**
 * struct lt_tracker_config - what lt_tracker_create() builds
 * @name: tracker name shown in the stats file (copied; up to 63 chars kept)
 * @index: tracker index in the module, copied into lt_hit.tracker
 * @key_size: bytes of key passed to lt_event_in/out, 1..LT_KEY_MAX
 * @capacity: most begins pending at once, 1..LT_CAPACITY_MAX; all event
 *	storage is preallocated from it. Begins beyond it are dropped.
 * @keep_last: a begin for a key already pending replaces the pending begin;
 *	false (default): the first begin is kept and the new one is ignored.
 *	"First" and "last" are by begin time (ts_ns), which decides when
 *	begins of one key race on two CPUs or nest (NMI).
 * @stack: threshold hits carry the kernel stack of their end event
 *	(stack_trace_save() in the end probe: a few hundred ns per hit)
 * @threshold_ns: pairs strictly longer than this are hits; 0: no hits, the
 *	tracker only aggregates (counters, histogram)
 * @timeout_ns: a begin with no end for strictly longer than this is removed
 *	and reported as a timeout hit; 0: no timeouts
 * @stale_ns: only when timeout_ns is 0: begins pending longer than this are
 *	reclaimed silently but counted ("stale" in the stats), so that begins
 *	whose end never comes cannot fill the table for good.
 *	0: LT_DEFAULT_STALE_NS (10 s); U64_MAX: never.
 * @capture_size: bytes of captured event fields per side, 0..LT_CAPTURE_MAX,
 *	passed to lt_event_in_captured() and lt_event_out_captured(); 0: none
 */
struct lt_tracker_config {
	const char *name;
	u32 index;
	u32 key_size;
	u32 capacity;
	bool keep_last;
	bool stack;
	u64 threshold_ns;
	u64 timeout_ns;
	u64 stale_ns;
	u32 capture_size;
};

static_assert(LT_CAPTURE_AT + 2 * LT_CAPTURE_MAX <= sizeof(struct lt_hit),
	      "both sides' captures fit in one record");

/**
 * struct lt_stats - counters of a tracker, summed over CPUs
 * @begins: begins recorded as pending (lt_event_in() returned 0)
 * @pairs: begin/end pairs completed (every pair, hit or not)
 * @hits: pairs longer than the threshold (kind LT_HIT_THRESHOLD)
 * @timeouts: begins that timed out (kind LT_HIT_TIMEOUT)
 * @dropped: begins not recorded: no free event or no free table slot
 * @lost: hit records not delivered because the output ring was full
 * @ignored: begins refused because the key was pending (keep first)
 * @replaced: pending begins replaced by a newer begin of the same key (keep
 *	last), or discarded when two begins of one key raced on two CPUs
 * @stale: begins reclaimed after stale_ns (no timeout configured)
 * @cleared: begins removed by lt_tracker_clear() or lt_tracker_destroy()
 * @cancelled: begins forgotten by lt_event_cancel() (chains: by `cancel`)
 * @broken: chain trackers: chains whose last copy was dropped after it had
 *	left its origin's context (a holder blocked, a scope closed)
 * @unmoved: chain trackers: chains whose last copy went without leaving
 *	the origin's context (a timer tick that woke no one): no error
 * @pending: begins pending now (chains: live chains): begins - pairs -
 *	timeouts - replaced - stale - cleared - cancelled - broken - unmoved
 * @min_ns: shortest pair; 0 when there is none yet
 * @max_ns: longest pair; 0 when there is none yet
 * @sum_ns: sum of the latencies of all @pairs (Prometheus' _sum); wraps
 *	modulo 2^64 ns, after 584 years of summed latency
 * @hist: log2 histogram of pair latencies: bucket k >= 1 counts
 *	2^(k-1) < v <= 2^k ns (upper bound le_ns = 2^k), bucket 0 counts
 *	v <= 1 ns (0 included); the last bucket also takes everything above
 *	2^63. The convention of every ltsh backend (src/records/stats.ts).
 */
struct lt_stats {
	u64 begins;
	u64 pairs;
	u64 hits;
	u64 timeouts;
	u64 dropped;
	u64 lost;
	u64 ignored;
	u64 replaced;
	u64 stale;
	u64 cleared;
	u64 cancelled;
	u64 broken;
	u64 unmoved;
	u64 pending;
	u64 min_ns;
	u64 max_ns;
	u64 sum_ns;
	u64 hist[LT_HIST_BUCKETS];
};

struct lt_tracker;
struct lt_output;

/**
 * lt_ctx_fill() - fill an event context from the current task and CPU
 * @ctx: context to fill
 * @probe: index of the probe alternative (lt_ctx.probe)
 *
 * Uses ktime_get_mono_fast_ns(), so it is safe in NMI context. Inline: every
 * probe calls it once per event.
 */
static inline void lt_ctx_fill(struct lt_ctx *ctx, u16 probe)
{
	ctx->ts_ns = ktime_get_mono_fast_ns();
	ctx->cpu = raw_smp_processor_id();
	ctx->tid = current->pid;
	ctx->pid = current->tgid;
	ctx->probe = probe;
	ctx->reserved = 0;
	memcpy(ctx->comm, current->comm, LT_COMM_LEN);
}

/**
 * lt_tracker_create() - allocate a tracker and start its timeout sweep
 * @cfg: configuration; copied, may be freed after the call
 * @out: where hits go; may be NULL (counters and histogram only)
 *
 * Preallocates @cfg->capacity events and a table of 4 * capacity slots.
 * Sleeps; call from process context (module init).
 *
 * Return: the tracker, ERR_PTR(-EINVAL) for a bad configuration,
 * ERR_PTR(-ENOMEM) when the memory is not there. Never NULL.
 */
struct lt_tracker *lt_tracker_create(const struct lt_tracker_config *cfg,
				     struct lt_output *out);

/**
 * lt_tracker_destroy() - stop the sweep, reclaim pending begins, free all
 * @t: tracker, or NULL / an ERR_PTR (then nothing happens)
 *
 * The probes calling lt_event_in/out() must be unregistered first and
 * their callers gone (tracepoint_synchronize_unregister()). Also removes the
 * tracker from its output's stats file. Destroy trackers before their
 * output: the sweep writes timeout hits to it. Sleeps.
 */
void lt_tracker_destroy(struct lt_tracker *t);

/**
 * lt_tracker_stop() - stop the timeout sweep for good
 * @t: tracker, or NULL / an ERR_PTR (then nothing happens)
 *
 * For a reader that wants its last hits and counters to match: unregister
 * the probes (and wait for their callers), then stop the sweep; from then on
 * no hit is added and no counter changes. Pending begins stay until
 * lt_tracker_destroy(), which may still be called once. Sleeps.
 */
void lt_tracker_stop(struct lt_tracker *t);

/**
 * lt_tracker_set_threshold() - change the threshold at run time
 * @t: tracker
 * @ns: new threshold in ns; 0: no threshold hits
 *
 * Takes effect for the pairs completed after the call; safe anywhere.
 */
void lt_tracker_set_threshold(struct lt_tracker *t, u64 ns);

/**
 * lt_tracker_set_timeout() - change the timeout at run time
 * @t: tracker
 * @ns: new timeout in ns; 0: no timeouts (stale begins are still reclaimed)
 *
 * Applies to every pending begin from the next sweep on; safe anywhere.
 */
void lt_tracker_set_timeout(struct lt_tracker *t, u64 ns);

/**
 * lt_event_in() - record a begin event
 * @t: tracker
 * @key: key_size bytes
 * @ctx: context of the begin (copied)
 *
 * Lock-free, never sleeps nor allocates; safe from NMI.
 *
 * Return: 0 when recorded (with keep_last this may replace a pending begin
 * of the same key), -EEXIST when the key is pending and the first begin is
 * kept (counted as ignored), -ENOSPC when no event or table slot was free
 * (counted as dropped).
 */
int lt_event_in(struct lt_tracker *t, const void *key,
		const struct lt_ctx *ctx);

/**
 * lt_event_out() - record an end event and complete the pair for its key
 * @t: tracker
 * @key: key_size bytes
 * @ctx: context of the end (ts_ns is the end time)
 *
 * Removes the pending begin first; only the caller whose removal succeeded
 * counts the pair and reports a hit, so two racing ends report once.
 * Lock-free, never sleeps nor allocates; safe from NMI.
 *
 * Return: 0 when a pair completed (a hit is emitted when it is longer than
 * the threshold), -ENOENT when no begin was pending for @key, or when the
 * pending begin had already passed its timeout: then it is reported as a
 * timeout, exactly as the sweep would have done.
 */
int lt_event_out(struct lt_tracker *t, const void *key,
		 const struct lt_ctx *ctx);

/**
 * lt_event_in_captured() - record a begin event with its captured fields
 * @t: tracker
 * @key: key_size bytes
 * @ctx: context of the begin (copied)
 * @captures: the tracker's capture_size bytes, kept with the pending begin
 *
 * As lt_event_in().
 *
 * Return: as lt_event_in().
 */
int lt_event_in_captured(struct lt_tracker *t, const void *key,
			 const struct lt_ctx *ctx, const void *captures);

/**
 * lt_event_out_captured() - record an end event with its captured fields
 * @t: tracker
 * @key: key_size bytes
 * @ctx: context of the end
 * @captures: the tracker's capture_size bytes, carried into the hit
 *
 * As lt_event_out().
 *
 * Return: as lt_event_out().
 */
int lt_event_out_captured(struct lt_tracker *t, const void *key,
			  const struct lt_ctx *ctx, const void *captures);

/**
 * lt_event_cancel() - forget the pending begin of a key, without a pair
 * @t: tracker
 * @key: key_size bytes
 * @ctx: context of the cancelling event (ts_ns decides a passed timeout)
 *
 * For the language's `cancel` clause: the begin is removed with the same
 * atomic removal as lt_event_out() and counted as cancelled; no pair, no
 * latency, no hit. Lock-free, never sleeps nor allocates; safe from NMI.
 *
 * Return: 0 when a pending begin was cancelled, -ENOENT when none was
 * pending for @key, or when it had already passed its timeout: then it is
 * reported as a timeout, as lt_event_out() does.
 */
int lt_event_cancel(struct lt_tracker *t, const void *key,
		    const struct lt_ctx *ctx);

/**
 * lt_tracker_expire() - time out (or reclaim as stale) old pending begins
 * @t: tracker
 * @now_ns: current CLOCK_MONOTONIC time
 * @max_slots: table slots to scan, from where the last call stopped;
 *	0: the whole table
 *
 * The runtime calls this from its periodic sweep (delayed work: a timeout
 * is reported between timeout_ns and about 1.5 * timeout_ns + 2 jiffies
 * after its begin). Exposed for tests.
 *
 * Return: the number of begins removed.
 */
u32 lt_tracker_expire(struct lt_tracker *t, u64 now_ns, u32 max_slots);

/**
 * lt_tracker_clear() - remove every pending begin (counted as cleared)
 * @t: tracker
 *
 * Safe while probes run: entries are unlinked with the same atomic removal
 * as lt_event_out() before they go back to the pool.
 */
void lt_tracker_clear(struct lt_tracker *t);

/**
 * lt_tracker_stats() - read the counters and histogram
 * @t: tracker
 * @out: filled; counters are summed over CPUs (not a snapshot of one
 *	instant while probes run)
 */
void lt_tracker_stats(struct lt_tracker *t, struct lt_stats *out);

/**
 * lt_tracker_name() - the configured name
 * @t: tracker
 *
 * Return: the tracker's name (never NULL).
 */
const char *lt_tracker_name(const struct lt_tracker *t);

/**
 * lt_output_create() - create the hit ring and its files
 * @module_name: names the files: /dev/ltsh_<module_name> (read()/poll()
 *	whole struct lt_hit records; O_NONBLOCK gives -EAGAIN when empty) and
 *	/proc/ltsh_<module_name>/stats, one text line per tracker:
 *	"tracker=NAME pairs=N hits=N timeouts=N dropped=N lost=N min_ns=N
 *	max_ns=N hist=c0,c1,...,c63 begins=N pending=N ignored=N replaced=N
 *	stale=N cleared=N sum_ns=N cancelled=N broken=N unmoved=N" (key=value
 *	pairs; more may be
 *	appended later)
 * @ring_records: ring capacity in records, rounded up to a power of 2;
 *	0: 4096. When the ring is full, new hits are counted as lost.
 *
 * Sleeps; call from module init.
 *
 * Return: the output, ERR_PTR(-EINVAL) for a bad name, ERR_PTR(-ENOMEM),
 * or the error of misc_register() (e.g. -EBUSY: name taken). Never NULL.
 */
struct lt_output *lt_output_create(const char *module_name, u32 ring_records);

/**
 * lt_output_destroy() - remove the files and free the ring
 * @out: output, or NULL / an ERR_PTR (then nothing happens)
 *
 * Destroy the trackers writing to it first. Sleeps.
 */
void lt_output_destroy(struct lt_output *out);

/**
 * lt_output_add_tracker() - list a tracker in the stats file
 * @out: output
 * @t: tracker (created with @out or not)
 *
 * Process context (takes a mutex). lt_tracker_destroy() removes it again.
 *
 * Return: 0, -EEXIST when already listed, -ENOSPC beyond
 * LT_OUTPUT_TRACKERS_MAX trackers.
 */
int lt_output_add_tracker(struct lt_output *out, struct lt_tracker *t);

#endif /* LT_TRACKER_H */
