/*
 *	track t: sys_exit_accept4($pid, ret) where ret >= 0 -> {
 *	sys_enter_write($pid, fd) | sys_enter_sendto($pid, fd) }
 */

struct lt_t_key {
	s64 pid;
	s64 ret;
} __packed;

static_assert(sizeof(struct lt_t_key) == 16);

static struct lt_module_tracker lt_t_tracker = {
	.config = {
		.name = "t",
		.index = 0,
		.key_size = sizeof(struct lt_t_key),
		.capacity = 8192,
		.keep_last = false,
	},
	.threshold_ns = 0,
	.timeout_ns = 0,
};

LT_TRACKER_PARAMS(t, lt_t_tracker);

static void lt_t_on_sys_exit(void *data, struct pt_regs *regs, long ret)
{
	struct lt_tracker *tracker = lt_t_tracker.tracker;
	struct lt_t_key key;
	struct lt_ctx ctx;

	if (in_compat_syscall())
		return;

	if (syscall_get_nr(current, regs) == __NR_accept4 && ret >= 0) {
		key.pid = current->tgid;
		key.ret = ret;
		lt_ctx_fill(&ctx, 0);
		lt_event_in(tracker, &key, &ctx);
	}
}

static void lt_t_on_sys_enter(void *data, struct pt_regs *regs, long id)
{
	struct lt_tracker *tracker = lt_t_tracker.tracker;
	struct lt_t_key key;
	struct lt_ctx ctx;
	unsigned long args[6];

	if (in_compat_syscall())
		return;

	if (id == __NR_write) {
		syscall_get_arguments(current, regs, args);
		key.pid = current->tgid;
		key.ret = args[0];
		lt_ctx_fill(&ctx, 0);
		if (!lt_event_out(tracker, &key, &ctx))
			return;
	}

	if (id == __NR_sendto) {
		syscall_get_arguments(current, regs, args);
		key.pid = current->tgid;
		key.ret = args[0];
		lt_ctx_fill(&ctx, 1);
		lt_event_out(tracker, &key, &ctx);
	}
}

