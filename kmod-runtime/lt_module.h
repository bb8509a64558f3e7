/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The contract between lt_module.c, the part every generated tracker module
 * shares (init and exit, probe registration, module parameters, the "stop"
 * parameter), and the file ltsh generates per module (MOD_main.c), which
 * holds only what differs: key structs, probe functions and the tables
 * below. Kbuild links both with the runtime:
 *
 *	MOD-y := MOD_main.o lt_module.o lt_uprobe.o $(LT_RUNTIME_OBJS)
 *
 * The generated file provides, for each tracker:
 *
 *	static struct lt_module_tracker lt_NAME_tracker = {
 *		.config = { .name = "NAME", .index = 0, ... },
 *		.threshold_ns = ..., .timeout_ns = ...,
 *	};
 *	LT_TRACKER_PARAMS(NAME, lt_NAME_tracker);
 *
 * the probe functions, and the one descriptor lt_module.c reads:
 *
 *	static struct lt_module_probe lt_probes[] = {
 *		LT_PROBE(sched_wakeup, lt_NAME_on_sched_wakeup),
 *	};
 *	static struct lt_module_tracker *lt_trackers[] = { &lt_NAME_tracker };
 *	LT_MODULE(lt_trackers, lt_probes);
 *
 * With user-space probes (a table of struct lt_uprobe, lt_uprobe.h):
 * LT_MODULE_UPROBES(lt_trackers, lt_uprobes) when there is no tracepoint,
 * else LT_MODULE_MIXED(lt_trackers, lt_probes, lt_uprobes).
 */
#ifndef LT_MODULE_H
#define LT_MODULE_H

#include <linux/kernel.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include "lt_chain.h"
#include "lt_tracker.h"

struct tracepoint;
struct lt_uprobe;

/**
 * struct lt_module_tracker - one tracker of a generated module
 * @config: what lt_tracker_create() builds; its threshold and timeout are
 *	taken from @threshold_ns and @timeout_ns at init
 * @tracker: the runtime's tracker; NULL before init and after exit
 * @threshold_ns: module parameter NAME_threshold_ns (0: no hits)
 * @timeout_ns: module parameter NAME_timeout_ns (0: no timeouts)
 * @chain_config: a chain tracker's shape (lt_chain.h); NULL for a plain one
 * @chain: the chain's state while @tracker is set (probes pass it to
 *	lt_chain_event())
 *
 * The parameter callbacks, init and exit change @tracker under
 * kernel_param_lock(), so a write to /sys/module/MOD/parameters never meets
 * a tracker being created or destroyed. Probes read @tracker only while
 * they are registered, which is while it is set.
 */
struct lt_module_tracker {
	struct lt_tracker_config config;
	struct lt_tracker *tracker;
	unsigned long threshold_ns;
	unsigned long timeout_ns;
	const struct lt_chain_config *chain_config;
	struct lt_chain *chain;
};

/**
 * struct lt_module_probe - a probe function and the tracepoint it is for
 * @tracepoint: name of the kernel tracepoint ("sched_switch")
 * @func: the probe; its arguments are void *data then the tracepoint's
 *	TP_PROTO
 * @tp: found by name at init (tracepoints are not all exported)
 * @optional: a kernel without the tracepoint loads the module without it
 *	(the x86 vectors a chain follows: some depend on the configuration)
 */
struct lt_module_probe {
	const char *tracepoint;
	void *func;
	struct tracepoint *tp;
	bool optional;
};

/**
 * struct lt_module - what a generated module tracks
 * @trackers: its trackers, in lt_hit.tracker index order
 * @nr_trackers: entries in @trackers (1..LT_OUTPUT_TRACKERS_MAX)
 * @probes: its probe functions, registered in this order at init
 * @nr_probes: entries in @probes
 * @uprobes: its user-space probe sites (lt_uprobe.h), registered after
 *	@probes
 * @nr_uprobes: entries in @uprobes
 */
struct lt_module {
	struct lt_module_tracker **trackers;
	unsigned int nr_trackers;
	struct lt_module_probe *probes;
	unsigned int nr_probes;
	struct lt_uprobe *uprobes;
	unsigned int nr_uprobes;
};

/* Defined by the generated file (LT_MODULE()), read by lt_module.c. */
extern const struct lt_module lt_module;

#define LT_MODULE(tracker_table, probe_table)			\
	const struct lt_module lt_module = {			\
		.trackers = tracker_table,			\
		.nr_trackers = ARRAY_SIZE(tracker_table),	\
		.probes = probe_table,				\
		.nr_probes = ARRAY_SIZE(probe_table),		\
	}

/* Trackers on user-space probes only (uprobe:, uretprobe:, usdt:). */
#define LT_MODULE_UPROBES(tracker_table, uprobe_table)		\
	const struct lt_module lt_module = {			\
		.trackers = tracker_table,			\
		.nr_trackers = ARRAY_SIZE(tracker_table),	\
		.uprobes = uprobe_table,			\
		.nr_uprobes = ARRAY_SIZE(uprobe_table),		\
	}

/* Trackers on both tracepoints and user-space probes. */
#define LT_MODULE_MIXED(tracker_table, probe_table, uprobe_table)	\
	const struct lt_module lt_module = {			\
		.trackers = tracker_table,			\
		.nr_trackers = ARRAY_SIZE(tracker_table),	\
		.probes = probe_table,				\
		.nr_probes = ARRAY_SIZE(probe_table),		\
		.uprobes = uprobe_table,			\
		.nr_uprobes = ARRAY_SIZE(uprobe_table),		\
	}

#define LT_PROBE(tracepoint_name, probe_func)			\
	{ .tracepoint = #tracepoint_name, .func = (void *)(probe_func) }

#define LT_PROBE_OPTIONAL(tracepoint_name, probe_func)		\
	{ .tracepoint = #tracepoint_name, .func = (void *)(probe_func),	\
	  .optional = true }

/* Set threshold_ns/timeout_ns and pass them to the running tracker. */
extern const struct kernel_param_ops lt_threshold_ops;
extern const struct kernel_param_ops lt_timeout_ops;

/*
 * NAME_threshold_ns and NAME_timeout_ns, the module parameters of the
 * tracker @state (a struct lt_module_tracker).
 */
#define LT_TRACKER_PARAMS(name, state)					\
	module_param_cb(name##_threshold_ns, &lt_threshold_ops,	\
			&(state).threshold_ns, 0644);			\
	MODULE_PARM_DESC(name##_threshold_ns, #name			\
			 ": pairs longer than this are hits (ns, 0: none)"); \
	module_param_cb(name##_timeout_ns, &lt_timeout_ops,		\
			&(state).timeout_ns, 0644);			\
	MODULE_PARM_DESC(name##_timeout_ns, #name			\
			 ": begins pending longer than this time out (ns, 0: none)")

/**
 * lt_switch_state() - the prev_state the sched_switch trace event shows
 * @preempt: the tracepoint's preempt argument
 * @prev_state: its prev_state argument
 * @p: the task switched out
 *
 * As __trace_sched_switch_state() of include/trace/events/sched.h, which is
 * not visible outside that header.
 *
 * Return: TASK_REPORT_MAX when preempted, else the state's report bit.
 */
long lt_switch_state(bool preempt, unsigned int prev_state,
		     struct task_struct *p);

/**
 * lt_current_cgroup_id() - the cgroup v2 id of the current task
 *
 * As bpf_get_current_cgroup_id() gives it. Safe in any context.
 *
 * Return: the id; 0 in a kernel built without cgroups.
 */
u64 lt_current_cgroup_id(void);

#endif /* LT_MODULE_H */
