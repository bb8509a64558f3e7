// SPDX-License-Identifier: GPL-2.0
/*
 * Where hits go: /dev/ltsh_<module> and the stats file.
 *
 * Probes push struct lt_hit records into a lock-free ring (lt_ring.c);
 * user space reads whole records from the misc device /dev/ltsh_<module>
 * with read() (blocking, or -EAGAIN with O_NONBLOCK) and waits with poll().
 * A push cannot wake the reader directly (a wake-up takes a spinlock, not
 * allowed in NMI context), so it queues an irq_work that does it, and only
 * when someone sleeps on the queue. /proc/ltsh_<module>/stats prints one
 * line of counters per tracker listed with lt_output_add_tracker(). Every
 * hit is also the trace event ltsh_<module>:ltsh_hit (lt_trace.h).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/fs.h>
#include <linux/irq_work.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include "lt_internal.h"

#ifdef LT_TRACE_SYSTEM
#define CREATE_TRACE_POINTS
#include "lt_trace.h"
#else
static inline void trace_ltsh_hit(const struct lt_hit *hit) { }
#endif

#define LT_DEV_NAME_LEN	64

struct lt_output {
	struct lt_ring ring;
	char name[LT_DEV_NAME_LEN];	/* "ltsh_<module>" */
	struct miscdevice misc;
	wait_queue_head_t wait;
	struct irq_work wakeup;
	struct mutex read_lock;		/* one consumer of the ring at a time */
	struct mutex trackers_lock;
	struct lt_tracker *trackers[LT_OUTPUT_TRACKERS_MAX];
	u32 nr_trackers;
	struct proc_dir_entry *proc_dir;
};

static void lt_output_wakeup(struct irq_work *work)
{
	struct lt_output *out = container_of(work, struct lt_output, wakeup);

	wake_up_interruptible(&out->wait);
}

int lt_output_push(struct lt_output *out, const struct lt_hit *hit)
{
	return lt_output_push_n(out, hit, 1);
}

/* A hit spanning @n records (chains): traced once, stored whole or not at all. */
int lt_output_push_n(struct lt_output *out, const struct lt_hit *hits, u32 n)
{
	int err;

	trace_ltsh_hit(hits);	/* every hit, even when the ring is full */
	err = lt_ring_push_n(&out->ring, hits, n);

	/* wq_has_sleeper() has the barrier pairing with the reader's wait */
	if (!err && wq_has_sleeper(&out->wait))
		irq_work_queue(&out->wakeup);
	return err;
}

static struct lt_output *lt_file_output(struct file *file)
{
	/* misc_open() stores the miscdevice in private_data */
	return container_of(file->private_data, struct lt_output, misc);
}

/* Copies whole records while there are some and room for them. */
static ssize_t lt_hits_copy(struct lt_output *out, char __user *buf,
			    size_t count)
{
	struct lt_hit hit;
	size_t done = 0;

	mutex_lock(&out->read_lock);
	while (done + sizeof(hit) <= count && lt_ring_pop(&out->ring, &hit)) {
		if (copy_to_user(buf + done, &hit, sizeof(hit))) {
			mutex_unlock(&out->read_lock);
			return done ? done : -EFAULT;
		}
		done += sizeof(hit);
	}
	mutex_unlock(&out->read_lock);
	return done;
}

static ssize_t lt_hits_read(struct file *file, char __user *buf,
			    size_t count, loff_t *ppos)
{
	struct lt_output *out = lt_file_output(file);
	ssize_t done;
	int err;

	if (count < sizeof(struct lt_hit))
		return -EINVAL;
	for (;;) {
		done = lt_hits_copy(out, buf, count);
		if (done)
			return done;
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		err = wait_event_interruptible(out->wait,
					       !lt_ring_empty(&out->ring));
		if (err)
			return err;
	}
}

static __poll_t lt_hits_poll(struct file *file, poll_table *pt)
{
	struct lt_output *out = lt_file_output(file);

	poll_wait(file, &out->wait, pt);
	return lt_ring_empty(&out->ring) ? 0 : EPOLLIN | EPOLLRDNORM;
}

static const struct file_operations lt_hits_fops = {
	.owner = THIS_MODULE,
	.read = lt_hits_read,
	.poll = lt_hits_poll,
	.llseek = noop_llseek,
};

static void lt_stats_line(struct seq_file *m, struct lt_tracker *t)
{
	struct lt_stats s;
	u32 i;

	lt_tracker_stats(t, &s);
	seq_printf(m, "tracker=%s pairs=%llu hits=%llu timeouts=%llu dropped=%llu lost=%llu min_ns=%llu max_ns=%llu hist=",
		   lt_tracker_name(t), s.pairs, s.hits, s.timeouts, s.dropped,
		   s.lost, s.min_ns, s.max_ns);
	for (i = 0; i < LT_HIST_BUCKETS; i++)
		seq_printf(m, i ? ",%llu" : "%llu", s.hist[i]);
	seq_printf(m, " begins=%llu pending=%llu ignored=%llu replaced=%llu stale=%llu cleared=%llu sum_ns=%llu cancelled=%llu broken=%llu unmoved=%llu\n",
		   s.begins, s.pending, s.ignored, s.replaced, s.stale,
		   s.cleared, s.sum_ns, s.cancelled, s.broken, s.unmoved);
}

static int lt_stats_show(struct seq_file *m, void *v)
{
	struct lt_output *out = m->private;
	u32 i;

	mutex_lock(&out->trackers_lock);
	for (i = 0; i < out->nr_trackers; i++)
		lt_stats_line(m, out->trackers[i]);
	mutex_unlock(&out->trackers_lock);
	return 0;
}

struct lt_output *lt_output_create(const char *module_name, u32 ring_records)
{
	struct lt_output *out;
	int err;

	if (!module_name || !*module_name ||
	    strlen(module_name) + 6 > LT_DEV_NAME_LEN || strchr(module_name, '/'))
		return ERR_PTR(-EINVAL);
	out = kzalloc(sizeof(*out), GFP_KERNEL);
	if (!out)
		return ERR_PTR(-ENOMEM);
	snprintf(out->name, sizeof(out->name), "ltsh_%s", module_name);
	init_waitqueue_head(&out->wait);
	init_irq_work(&out->wakeup, lt_output_wakeup);
	mutex_init(&out->read_lock);
	mutex_init(&out->trackers_lock);
	err = lt_ring_init(&out->ring, ring_records);
	if (err)
		goto free_output;
	out->proc_dir = proc_mkdir(out->name, NULL);
	if (!out->proc_dir) {
		err = -ENOMEM;
		goto fini_ring;
	}
	if (!proc_create_single_data("stats", 0444, out->proc_dir,
				     lt_stats_show, out)) {
		err = -ENOMEM;
		goto remove_proc;
	}
	out->misc.minor = MISC_DYNAMIC_MINOR;
	out->misc.name = out->name;
	out->misc.fops = &lt_hits_fops;
	out->misc.mode = 0400;
	err = misc_register(&out->misc);
	if (err)
		goto remove_proc;
	return out;

remove_proc:
	proc_remove(out->proc_dir);
fini_ring:
	lt_ring_fini(&out->ring);
free_output:
	kfree(out);
	return ERR_PTR(err);
}

void lt_output_destroy(struct lt_output *out)
{
	if (IS_ERR_OR_NULL(out))
		return;
	misc_deregister(&out->misc);
	proc_remove(out->proc_dir);
	irq_work_sync(&out->wakeup);
	lt_ring_fini(&out->ring);
	kfree(out);
}

int lt_output_add_tracker(struct lt_output *out, struct lt_tracker *t)
{
	int err = 0;
	u32 i;

	mutex_lock(&out->trackers_lock);
	for (i = 0; i < out->nr_trackers; i++)
		if (out->trackers[i] == t)
			err = -EEXIST;
	if (!err && out->nr_trackers == LT_OUTPUT_TRACKERS_MAX)
		err = -ENOSPC;
	if (!err) {
		out->trackers[out->nr_trackers++] = t;
		t->listed_in = out;
	}
	mutex_unlock(&out->trackers_lock);
	return err;
}

void lt_output_remove_tracker(struct lt_output *out, struct lt_tracker *t)
{
	u32 i;

	mutex_lock(&out->trackers_lock);
	for (i = 0; i < out->nr_trackers; i++) {
		if (out->trackers[i] == t) {
			out->trackers[i] = out->trackers[--out->nr_trackers];
			break;
		}
	}
	t->listed_in = NULL;
	mutex_unlock(&out->trackers_lock);
}
