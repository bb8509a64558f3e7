/*
 *	track t: sys_exit_accept4($pid, ret) where ret >= 0 -> { sys_enter_write($pid, fd) | sys_enter_sendto($pid, fd) }
 */

struct t_key {
	s64 pid;
	s64 ret;
} __packed;

static_assert(sizeof(struct t_key) == 16);

static struct tracker_state t_tracker = {
	.config = {
		.name = "t",
		.index = 0,
		.key_size = sizeof(struct t_key),
		.capacity = 8192,
		.keep_last = false,
	},
	.threshold_ns = 0,
	.timeout_ns = 0,
};

module_param_cb(t_threshold_ns, &threshold_ops,
		&t_tracker.threshold_ns, 0644);
MODULE_PARM_DESC(t_threshold_ns,
		 "t: pairs longer than this are hits (ns, 0: none)");
module_param_cb(t_timeout_ns, &timeout_ops,
		&t_tracker.timeout_ns, 0644);
MODULE_PARM_DESC(t_timeout_ns,
		 "t: begins pending longer than this time out (ns, 0: none)");

static void t_on_sys_exit(void *data, struct pt_regs *regs, long ret)
{
	struct t_key key;
	struct lt_ctx ctx;

	if (in_compat_syscall())
		return;

	if (syscall_get_nr(current, regs) == __NR_accept4 && ret >= 0) {
		key.pid = current->tgid;
		key.ret = ret;
		lt_ctx_fill(&ctx, 0);
		lt_event_in(t_tracker.tracker, &key, &ctx);
	}
}

static void t_on_sys_enter(void *data, struct pt_regs *regs, long id)
{
	struct t_key key;
	struct lt_ctx ctx;
	unsigned long args[6];

	if (in_compat_syscall())
		return;

	if (id == __NR_write) {
		syscall_get_arguments(current, regs, args);
		key.pid = current->tgid;
		key.ret = args[0];
		lt_ctx_fill(&ctx, 0);
		if (!lt_event_out(t_tracker.tracker, &key, &ctx))
			return;
	}

	if (id == __NR_sendto) {
		syscall_get_arguments(current, regs, args);
		key.pid = current->tgid;
		key.ret = args[0];
		lt_ctx_fill(&ctx, 1);
		lt_event_out(t_tracker.tracker, &key, &ctx);
	}
}

