/*
 *	track wake: sched_wakeup(pid) -> sched_switch(next_pid) cancel
 *	sched_switch(prev_pid) where prev_state == 0 cancel
 *	sys_enter_exit_group($tid)
 */

struct lt_wake_key {
	s64 pid;
} __packed;

static_assert(sizeof(struct lt_wake_key) == 8);

struct lt_wake_captures {
	char key_comm[16];
};

static_assert(sizeof(struct lt_wake_captures) == 16);

static struct lt_module_tracker lt_wake_tracker = {
	.config = {
		.name = "wake",
		.index = 0,
		.key_size = sizeof(struct lt_wake_key),
		.capacity = 8192,
		.keep_last = false,
		.capture_size = sizeof(struct lt_wake_captures),
	},
	.threshold_ns = 0,
	.timeout_ns = 0,
};

LT_TRACKER_PARAMS(wake, lt_wake_tracker);

static void lt_wake_on_sched_wakeup(void *data, struct task_struct *p)
{
	struct lt_tracker *tracker = lt_wake_tracker.tracker;
	struct lt_wake_key key;
	struct lt_ctx ctx;
	struct lt_wake_captures captured;

	key.pid = p->pid;
	memset(&captured, 0, sizeof(captured));
	memcpy(captured.key_comm, p->comm, 16);
	lt_ctx_fill(&ctx, 0);
	lt_event_in_captured(tracker, &key, &ctx, &captured);
}

static void lt_wake_on_sched_switch(void *data, bool preempt,
				    struct task_struct *prev,
				    struct task_struct *next,
				    unsigned int prev_state)
{
	struct lt_tracker *tracker = lt_wake_tracker.tracker;
	struct lt_wake_key key;
	struct lt_ctx ctx;
	struct lt_wake_captures captured;

	key.pid = next->pid;
	memset(&captured, 0, sizeof(captured));
	memcpy(captured.key_comm, next->comm, 16);
	lt_ctx_fill(&ctx, 0);
	lt_event_out_captured(tracker, &key, &ctx, &captured);

	if (lt_switch_state(preempt, prev_state, prev) == 0) {
		key.pid = prev->pid;
		lt_event_cancel(tracker, &key, &ctx);
	}
}

static void lt_wake_on_sys_enter(void *data, struct pt_regs *regs, long id)
{
	struct lt_tracker *tracker = lt_wake_tracker.tracker;
	struct lt_wake_key key;
	struct lt_ctx ctx;

	if (in_compat_syscall())
		return;

	if (id == __NR_exit_group) {
		key.pid = current->pid;
		lt_ctx_fill(&ctx, 1);
		lt_event_cancel(tracker, &key, &ctx);
	}
}

