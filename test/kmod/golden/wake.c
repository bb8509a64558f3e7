/*
 *	track wake: sched_wakeup(pid, $cpu) where prio < 100 ->
 *	sched_switch(next_pid, $cpu) > 1ms
 */

struct lt_wake_key {
	s64 pid;
	u64 cpu;
} __packed;

static_assert(sizeof(struct lt_wake_key) == 16);

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
	.threshold_ns = 1000000,
	.timeout_ns = 0,
};

LT_TRACKER_PARAMS(wake, lt_wake_tracker);

static void lt_wake_on_sched_wakeup(void *data, struct task_struct *p)
{
	struct lt_tracker *tracker = lt_wake_tracker.tracker;
	struct lt_wake_key key;
	struct lt_ctx ctx;
	struct lt_wake_captures captured;

	if (p->prio < 100) {
		key.pid = p->pid;
		key.cpu = raw_smp_processor_id();
		memset(&captured, 0, sizeof(captured));
		memcpy(captured.key_comm, p->comm, 16);
		lt_ctx_fill(&ctx, 0);
		lt_event_in_captured(tracker, &key, &ctx, &captured);
	}
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
	key.cpu = raw_smp_processor_id();
	memset(&captured, 0, sizeof(captured));
	memcpy(captured.key_comm, next->comm, 16);
	lt_ctx_fill(&ctx, 0);
	lt_event_out_captured(tracker, &key, &ctx, &captured);
}

