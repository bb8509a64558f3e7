/*
 *	track wake: sched_wakeup(pid, $cpu) where prio < 100 -> sched_switch(next_pid, $cpu) > 1ms
 */

struct wake_key {
	s64 pid;
	u64 cpu;
} __packed;

static_assert(sizeof(struct wake_key) == 16);

static struct tracker_state wake_tracker = {
	.config = {
		.name = "wake",
		.index = 0,
		.key_size = sizeof(struct wake_key),
		.capacity = 8192,
		.keep_last = false,
	},
	.threshold_ns = 1000000,
	.timeout_ns = 0,
};

module_param_cb(wake_threshold_ns, &threshold_ops,
		&wake_tracker.threshold_ns, 0644);
MODULE_PARM_DESC(wake_threshold_ns,
		 "wake: pairs longer than this are hits (ns, 0: none)");
module_param_cb(wake_timeout_ns, &timeout_ops,
		&wake_tracker.timeout_ns, 0644);
MODULE_PARM_DESC(wake_timeout_ns,
		 "wake: begins pending longer than this time out (ns, 0: none)");

static void wake_on_sched_wakeup(void *data, struct task_struct *p)
{
	struct wake_key key;
	struct lt_ctx ctx;

	if (p->prio < 100) {
		key.pid = p->pid;
		key.cpu = raw_smp_processor_id();
		lt_ctx_fill(&ctx, 0);
		lt_event_in(wake_tracker.tracker, &key, &ctx);
	}
}

static void wake_on_sched_switch(void *data, bool preempt,
				 struct task_struct *prev,
				 struct task_struct *next,
				 unsigned int prev_state)
{
	struct wake_key key;
	struct lt_ctx ctx;

	key.pid = next->pid;
	key.cpu = raw_smp_processor_id();
	lt_ctx_fill(&ctx, 0);
	lt_event_out(wake_tracker.tracker, &key, &ctx);
}

