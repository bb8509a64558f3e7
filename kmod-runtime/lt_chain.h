/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Chain trackers (`ORIGIN ~> [WAYPOINT ~> ...] TARGET [until run|block]`,
 * grammar/README.md "Chains"): the replay reference's state machine
 * (src/replay/chain.ts) as a runtime that generated probes drive.
 *
 * A chain is a set of tokens, each one copy of the path so far (the origin's
 * time and context, the steps reached and when, up to LT_CHAIN_STAGES
 * stages) held by one holder: an open scope of a CPU (lt_scope.h), a task,
 * the pending softirq raise of a CPU and vector, or a `->` key. Tokens come
 * from an lt_pool of the tracker's capacity and are found by holder in an
 * lt_table, so every live copy counts against the capacity and a copy that
 * does not fit is counted as dropped. Counters, the histogram and the hits
 * are the tracker's (lt_tracker.h); each segment between the steps written
 * has a counter-only tracker of its own, listed in the stats file as
 * "NAME/K".
 *
 * A generated probe fills a struct lt_chain_event (what the event is, which
 * steps' filters hold, the `->` keys) and calls lt_chain_event(); the
 * runtime applies the rules in the reference's order. Use:
 *
 *	c = lt_chain_create(&cfg, tracker, out);	(ERR_PTR on error)
 *	... probes: lt_chain_event(c, &ev) ...
 *	... unregister probes and wait ...
 *	lt_chain_destroy(c);	(before lt_tracker_destroy(tracker))
 */
#ifndef LT_CHAIN_H
#define LT_CHAIN_H

#include <linux/build_bug.h>
#include <linux/types.h>
#include "lt_tracker.h"

#define LT_CHAIN_STEPS_MAX	8	/* MAX_CHAIN_STEPS, src/compiler/plan.ts */
#define LT_CHAIN_STAGES		16	/* stages a token keeps */
#define LT_CHAIN_KEY_MAX	24	/* bytes of a `->` key */

/* A chain hit: one struct lt_hit, then LT_CHAIN_PARTS records of the token. */
#define LT_HIT_CHAIN_PART	3
#define LT_CHAIN_PARTS		3
#define LT_CHAIN_PART_BYTES	256

/* Stage kinds, as src/compiler/bpf/chain-layout.ts STAGE_KINDS numbers them. */
enum lt_chain_stage_kind {
	LT_STAGE_ORIGIN,
	LT_STAGE_RAISE,
	LT_STAGE_SOFTIRQ,
	LT_STAGE_WAKING,
	LT_STAGE_RUN,
	LT_STAGE_PREEMPTED,
	LT_STAGE_WAYPOINT,
	LT_STAGE_TARGET,
	LT_STAGE_BLOCK,
};

/* What an event does to execution contexts (lt_chain_event.kind). */
enum lt_chain_event_kind {
	LT_CHAIN_EV_OTHER,	/* a step or cancel probe and nothing more */
	/* scope entries (odd) and exits (even), in pairs */
	LT_CHAIN_EV_IRQ_ENTRY,
	LT_CHAIN_EV_IRQ_EXIT,
	LT_CHAIN_EV_SOFTIRQ_ENTRY,
	LT_CHAIN_EV_SOFTIRQ_EXIT,
	LT_CHAIN_EV_TASKLET_ENTRY,
	LT_CHAIN_EV_TASKLET_EXIT,
	LT_CHAIN_EV_HRTIMER_ENTRY,
	LT_CHAIN_EV_HRTIMER_EXIT,
	LT_CHAIN_EV_TIMER_ENTRY,
	LT_CHAIN_EV_TIMER_EXIT,
	LT_CHAIN_EV_VECTOR_ENTRY,
	LT_CHAIN_EV_VECTOR_EXIT,
	LT_CHAIN_EV_SOFTIRQ_RAISE,
	LT_CHAIN_EV_WAKING,
	LT_CHAIN_EV_SWITCH,
};

/**
 * struct lt_chain_stage - one stage of a chain (40 bytes)
 * @ts_ns: when (ktime_get_mono_fast_ns())
 * @pid_tgid: the stage's task: tid in the low 32 bits, its process above
 *	(for waking and run stages, the woken or switched-in task's tid only)
 * @cpu: where
 * @info: kind << 24 | step << 16 | detail (IRQ number or softirq vector)
 * @comm: the task's name
 */
struct lt_chain_stage {
	u64 ts_ns;
	u64 pid_tgid;
	u32 cpu;
	u32 info;
	char comm[LT_COMM_LEN];
};

/**
 * struct lt_chain_token - one copy of a chain, as hit records carry it
 * @chain: the chain's id
 * @origin_ns: the origin's time
 * @step: index of the next step to reach (1: the first after the origin)
 * @flags: LT_CHAIN_AT_TARGET: `until block`, waiting for the target to block
 * @nr_stages: stages in use; past LT_CHAIN_STAGES the last one is replaced
 *	(the durations still add up to the latency)
 * @reserved: zero
 * @step_ns: when each step was reached (0: the origin), then the block
 * @stages: the stages
 *
 * The layout of src/compiler/bpf/chain-layout.ts Token, so that one
 * decoder reads both backends' hits (src/session/live-chain.ts).
 */
struct lt_chain_token {
	u64 chain;
	u64 origin_ns;
	u32 step;
	u32 flags;
	u32 nr_stages;
	u32 reserved;
	u64 step_ns[LT_CHAIN_STEPS_MAX + 2];
	struct lt_chain_stage stages[LT_CHAIN_STAGES];
};

#define LT_CHAIN_AT_TARGET	1

static_assert(sizeof(struct lt_chain_stage) == 40, "the eBPF stage layout");
static_assert(sizeof(struct lt_chain_token) == 752, "the eBPF token layout");
static_assert(LT_CHAIN_PARTS * LT_CHAIN_PART_BYTES >=
	      sizeof(struct lt_chain_token), "the parts hold a token");

/**
 * struct lt_chain_config - the chain's shape, from the .lt program
 * @nr_steps: origin, waypoints and target: 2..LT_CHAIN_STEPS_MAX
 * @switch_steps: bit k: step k is a sched_switch step, reached when a task
 *	holding the chain is switched in
 * @key_steps: bit k: step k is reached by key (`->`)
 * @until_block: the chain ends when the target's task next blocks
 * @segment_names: "NAME/K" of each segment's tracker, nr_steps - 1 of them
 *	(one more with @until_block)
 */
struct lt_chain_config {
	u32 nr_steps;
	u32 switch_steps;
	u32 key_steps;
	bool until_block;
	const char *const *segment_names;
};

/**
 * struct lt_chain_event - one event, as a generated probe describes it
 * @kind: enum lt_chain_event_kind
 * @arg: IRQ number (irq entry/exit), softirq vector (softirq and raise),
 *	woken task (waking) or next task (switch) pid
 * @steps: bit k: this event is step k's probe and step k's filter holds
 *	(bit 0: the origin); for a switch, the filters over the next task
 * @cancel: a `cancel` clause's probe whose filter holds
 * @ret: irq exit: the handler's irqreturn_t (2, IRQ_WAKE_THREAD: the IRQ
 *	tail of grammar/README.md "Chains")
 * @prev_pid: switch: the task switched out
 * @prev_state: switch: its state as the trace event shows it
 * @comm: waking: the woken task's name; switch: the next task's
 * @ts_ns: 0: now (ktime_get_mono_fast_ns()); tests give their own clock
 * @keys: keys[k]: step k's key values (a `->` step, or one followed by
 *	`->`), packed and zero-padded
 */
struct lt_chain_event {
	u32 kind;
	s32 arg;
	u32 steps;
	bool cancel;
	s32 ret;
	s32 prev_pid;
	long prev_state;
	const char *comm;
	u64 ts_ns;
	u8 keys[LT_CHAIN_STEPS_MAX][LT_CHAIN_KEY_MAX];
};

struct lt_chain;

/**
 * lt_chain_create() - the chain state of a tracker, and its segments
 * @cfg: the chain's shape; copied
 * @t: the tracker whose counters, capacity, keep policy, threshold,
 *	timeout and output the chain uses
 * @out: where segments are listed (the stats file); may be NULL
 *
 * Preallocates the tracker's capacity in tokens and starts the timeout
 * sweep. Sleeps: call from module init.
 *
 * Return: the chain, ERR_PTR(-EINVAL) or ERR_PTR(-ENOMEM). Never NULL.
 */
struct lt_chain *lt_chain_create(const struct lt_chain_config *cfg,
				 struct lt_tracker *t, struct lt_output *out);

/**
 * lt_chain_event() - apply the chain rules to one event
 * @c: chain
 * @ev: the event
 *
 * From tracepoint probes in any context but NMI (no chain event fires
 * there), and from uprobe consumers, in the probed task (LT_CHAIN_EV_OTHER:
 * its context is that task, or the CPU's innermost open scope if one were
 * left open). Never sleeps nor allocates.
 */
void lt_chain_event(struct lt_chain *c, const struct lt_chain_event *ev);

/**
 * lt_chain_expire() - end the chains past their timeout as timeout hits
 * @c: chain
 * @now_ns: the time now
 *
 * The sweep calls it every timeout / 8; exposed for tests.
 *
 * Return: the chains ended.
 */
u32 lt_chain_expire(struct lt_chain *c, u64 now_ns);

/**
 * lt_chain_stop() - stop the timeout sweep for good (after the probes)
 * @c: chain, or NULL / an ERR_PTR
 */
void lt_chain_stop(struct lt_chain *c);

/**
 * lt_chain_destroy() - free the chain and its segments' trackers
 * @c: chain, or NULL / an ERR_PTR
 *
 * Probes must be unregistered and their callers gone. Sleeps.
 */
void lt_chain_destroy(struct lt_chain *c);

#endif /* LT_CHAIN_H */
