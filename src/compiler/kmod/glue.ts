// The tracker-independent C of every generated module: tracker state with its module
// parameters, probe registration by tracepoint name, the "stop" parameter a reader writes
// before rmmod, init and exit with goto unwinding.

export const GLUE_TOP = `/**
 * struct tracker_state - one tracker of this module
 * @config: what lt_tracker_create() builds (threshold and timeout come from
 *	the module parameters below)
 * @tracker: the runtime's tracker; NULL before init and after exit
 * @threshold_ns: module parameter <tracker>_threshold_ns
 * @timeout_ns: module parameter <tracker>_timeout_ns
 *
 * The parameter callbacks and init/exit change @tracker under
 * kernel_param_lock(), so a write to /sys/module/.../parameters never meets
 * a tracker being created or destroyed.
 */
struct tracker_state {
	struct lt_tracker_config config;
	struct lt_tracker *tracker;
	unsigned long threshold_ns;
	unsigned long timeout_ns;
};

/**
 * struct probe - a probe function and the tracepoint it is registered on
 * @tracepoint: name of the kernel tracepoint
 * @func: the probe; its arguments are the tracepoint's TP_PROTO
 * @tp: found by name with for_each_kernel_tracepoint()
 */
struct probe {
	const char *tracepoint;
	void *func;
	struct tracepoint *tp;
};

static struct lt_output *output;

static int set_threshold(const char *val, const struct kernel_param *kp)
{
	struct tracker_state *state =
		container_of(kp->arg, struct tracker_state, threshold_ns);
	int ret = param_set_ulong(val, kp);

	if (!ret && state->tracker)
		lt_tracker_set_threshold(state->tracker, state->threshold_ns);
	return ret;
}

static int set_timeout(const char *val, const struct kernel_param *kp)
{
	struct tracker_state *state =
		container_of(kp->arg, struct tracker_state, timeout_ns);
	int ret = param_set_ulong(val, kp);

	if (!ret && state->tracker)
		lt_tracker_set_timeout(state->tracker, state->timeout_ns);
	return ret;
}

static const struct kernel_param_ops threshold_ops = {
	.set = set_threshold,
	.get = param_get_ulong,
};

static const struct kernel_param_ops timeout_ops = {
	.set = set_timeout,
	.get = param_get_ulong,
};`;

export const GLUE_BOTTOM = `static void find_tracepoint(struct tracepoint *tp, void *priv)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(probes); i++)
		if (!strcmp(tp->name, probes[i].tracepoint))
			probes[i].tp = tp;
}

/* Unregisters the first @count probes and waits until none is running. */
static void unregister_probes(unsigned int count)
{
	while (count--)
		tracepoint_probe_unregister(probes[count].tp, probes[count].func,
					    NULL);
	tracepoint_synchronize_unregister();
}

static int register_probes(void)
{
	unsigned int i;
	int ret;

	for_each_kernel_tracepoint(find_tracepoint, NULL);
	for (i = 0; i < ARRAY_SIZE(probes); i++) {
		if (!probes[i].tp) {
			pr_err("no tracepoint %s in this kernel\\n",
			       probes[i].tracepoint);
			ret = -ENOENT;
			goto err_unregister;
		}
		ret = tracepoint_probe_register(probes[i].tp, probes[i].func,
						NULL);
		if (ret) {
			pr_err("cannot register on %s: %d\\n",
			       probes[i].tracepoint, ret);
			goto err_unregister;
		}
	}
	return 0;

err_unregister:
	unregister_probes(i);
	return ret;
}

/* Set by a write to the "stop" parameter; then exit has no probes to remove. */
static bool stopped;

/*
 * Writing 1 to /sys/module/<module>/parameters/stop ends tracking before
 * rmmod: the probes are removed and the sweeps stopped, so a reader can take
 * the last hits from the device and then read counters that match them
 * exactly. Runs under kernel_param_lock(); there is no restart.
 */
static int set_stop(const char *val, const struct kernel_param *kp)
{
	unsigned int i;
	bool stop;
	int ret;

	ret = kstrtobool(val, &stop);
	if (ret)
		return ret;
	if (!output)
		return -EINVAL;	/* at insmod: nothing to stop yet */
	if (!stop)
		return stopped ? -EPERM : 0;
	if (stopped)
		return 0;
	unregister_probes(ARRAY_SIZE(probes));
	for (i = 0; i < ARRAY_SIZE(trackers); i++)
		lt_tracker_stop(trackers[i]->tracker);
	stopped = true;
	return 0;
}

static int get_stop(char *buffer, const struct kernel_param *kp)
{
	return sysfs_emit(buffer, "%c\\n", stopped ? 'Y' : 'N');
}

static const struct kernel_param_ops stop_ops = {
	.set = set_stop,
	.get = get_stop,
};

module_param_cb(stop, &stop_ops, NULL, 0644);
MODULE_PARM_DESC(stop, "write 1: stop tracking (before rmmod, to read the last hits)");

static void destroy_trackers(void)
{
	unsigned int i;

	kernel_param_lock(THIS_MODULE);
	for (i = 0; i < ARRAY_SIZE(trackers); i++) {
		lt_tracker_destroy(trackers[i]->tracker);
		trackers[i]->tracker = NULL;
	}
	kernel_param_unlock(THIS_MODULE);
}

static int create_trackers(void)
{
	struct lt_tracker *tracker;
	unsigned int i;
	int ret = 0;

	kernel_param_lock(THIS_MODULE);
	for (i = 0; i < ARRAY_SIZE(trackers); i++) {
		struct tracker_state *state = trackers[i];

		state->config.threshold_ns = state->threshold_ns;
		state->config.timeout_ns = state->timeout_ns;
		tracker = lt_tracker_create(&state->config, output);
		if (IS_ERR(tracker)) {
			ret = PTR_ERR(tracker);
			pr_err("cannot create tracker %s: %d\\n",
			       state->config.name, ret);
			break;
		}
		state->tracker = tracker;
		ret = lt_output_add_tracker(output, tracker);
		if (ret)
			break;
	}
	kernel_param_unlock(THIS_MODULE);
	return ret;
}

static int __init @MOD@_init(void)
{
	int ret;

	output = lt_output_create(KBUILD_MODNAME, 0);
	if (IS_ERR(output))
		return PTR_ERR(output);
	ret = create_trackers();
	if (ret)
		goto err_destroy_trackers;
	ret = register_probes();
	if (ret)
		goto err_destroy_trackers;
	return 0;

err_destroy_trackers:
	destroy_trackers();
	lt_output_destroy(output);
	return ret;
}

static void __exit @MOD@_exit(void)
{
	kernel_param_lock(THIS_MODULE);
	if (!stopped)
		unregister_probes(ARRAY_SIZE(probes));
	stopped = true;
	kernel_param_unlock(THIS_MODULE);
	destroy_trackers();
	lt_output_destroy(output);
}

module_init(@MOD@_init);
module_exit(@MOD@_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Latency trackers generated by ltsh");`;
