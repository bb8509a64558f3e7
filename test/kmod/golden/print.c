/*
 *	track p: sched_wakeup(pid) -> sched_switch(next_pid) > 1us then
 *	print(prio, prev_state, next_comm)
 */

struct lt_p_key {
	s64 pid;
} __packed;

static_assert(sizeof(struct lt_p_key) == 8);

struct lt_p_captures {
	s64 prio;
	s64 prev_state;
	char next_comm[16];
	char key_comm[16];
};

static_assert(sizeof(struct lt_p_captures) == 48);

static struct lt_module_tracker lt_p_tracker = {
	.config = {
		.name = "p",
		.index = 0,
		.key_size = sizeof(struct lt_p_key),
		.capacity = 8192,
		.keep_last = false,
		.capture_size = sizeof(struct lt_p_captures),
	},
	.threshold_ns = 1000,
	.timeout_ns = 0,
};

LT_TRACKER_PARAMS(p, lt_p_tracker);

static void lt_p_on_sched_wakeup(void *data, struct task_struct *p)
{
	struct lt_tracker *tracker = lt_p_tracker.tracker;
	struct lt_p_key key;
	struct lt_ctx ctx;
	struct lt_p_captures captured;

	key.pid = p->pid;
	memset(&captured, 0, sizeof(captured));
	captured.prio = p->prio;
	memcpy(captured.key_comm, p->comm, 16);
	lt_ctx_fill(&ctx, 0);
	lt_event_in_captured(tracker, &key, &ctx, &captured);
}

static void lt_p_on_sched_switch(void *data, bool preempt,
				 struct task_struct *prev,
				 struct task_struct *next,
				 unsigned int prev_state)
{
	struct lt_tracker *tracker = lt_p_tracker.tracker;
	struct lt_p_key key;
	struct lt_ctx ctx;
	struct lt_p_captures captured;

	key.pid = next->pid;
	memset(&captured, 0, sizeof(captured));
	captured.prev_state = lt_switch_state(preempt, prev_state, prev);
	memcpy(captured.next_comm, next->comm, 16);
	memcpy(captured.key_comm, next->comm, 16);
	lt_ctx_fill(&ctx, 0);
	lt_event_out_captured(tracker, &key, &ctx, &captured);
}

