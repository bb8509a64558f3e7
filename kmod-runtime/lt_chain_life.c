// SPDX-License-Identifier: GPL-2.0
/*
 * A chain tracker's life: its creation (state, tokens, a counter-only tracker
 * per segment), the timeout sweep, stop and destroy. The rules are in
 * lt_chain.c; see lt_chain.h for the API.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/jiffies.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include "lt_chain_internal.h"

u32 lt_chain_expire(struct lt_chain *c, u64 now_ns)
{
	unsigned long flags;
	u32 rec, next, ended = 0;

	raw_spin_lock_irqsave(&c->lock, flags);
	for (rec = c->oldest; rec; rec = next) {
		next = c->recs[rec - 1].newer;
		if (!lt_chain_expired(c, rec - 1, now_ns))
			continue;
		lt_chain_timeout(c, rec - 1, now_ns);
		ended++;
	}
	raw_spin_unlock_irqrestore(&c->lock, flags);
	return ended;
}

static unsigned long lt_chain_period(struct lt_chain *c)
{
	u64 timeout = READ_ONCE(c->t->timeout_ns);
	unsigned long period = timeout ? nsecs_to_jiffies(timeout / 8) : HZ / 4;

	return period ? period : 1;
}

static void lt_chain_sweep(struct work_struct *work)
{
	struct lt_chain *c = container_of(to_delayed_work(work),
					  struct lt_chain, sweep);

	lt_chain_expire(c, ktime_get_mono_fast_ns());
	schedule_delayed_work(&c->sweep, lt_chain_period(c));
}

static int lt_chain_segments(struct lt_chain *c, struct lt_output *out)
{
	struct lt_tracker_config cfg = {
		.key_size = 1, .capacity = 1, .stale_ns = U64_MAX,
	};
	struct lt_tracker *t;
	u32 i;

	c->nr_segments = c->cfg.nr_steps - 1 + c->cfg.until_block;
	for (i = 0; i < c->nr_segments; i++) {
		cfg.name = c->cfg.segment_names[i];
		cfg.index = c->t->index;
		t = lt_tracker_create(&cfg, NULL);
		if (IS_ERR(t))
			return PTR_ERR(t);
		c->segments[i] = t;
		if (out && lt_output_add_tracker(out, t))
			pr_warn("segment %s not in the stats file\n", cfg.name);
	}
	return 0;
}

struct lt_chain *lt_chain_create(const struct lt_chain_config *cfg,
				 struct lt_tracker *t, struct lt_output *out)
{
	struct lt_chain *c;
	int cpu, err;

	if (!cfg || cfg->nr_steps < 2 || cfg->nr_steps > LT_CHAIN_STEPS_MAX ||
	    !cfg->segment_names)
		return ERR_PTR(-EINVAL);
	c = kzalloc(sizeof(*c), GFP_KERNEL);
	if (!c)
		return ERR_PTR(-ENOMEM);
	c->cfg = *cfg;
	c->t = t;
	raw_spin_lock_init(&c->lock);
	err = -ENOMEM;
	c->cpu = alloc_percpu(struct lt_chain_cpu);
	if (!c->cpu)
		goto free_chain;
	for_each_possible_cpu(cpu)
		per_cpu_ptr(c->cpu, cpu)->running = -1;
	err = lt_chain_store_init(c, t->capacity);
	if (err)
		goto free_cpu;
	err = lt_chain_segments(c, out);
	if (err)
		goto destroy;
	INIT_DELAYED_WORK(&c->sweep, lt_chain_sweep);
	schedule_delayed_work(&c->sweep, lt_chain_period(c));
	return c;

destroy:
	lt_chain_destroy(c);
	return ERR_PTR(err);
free_cpu:
	free_percpu(c->cpu);
free_chain:
	kfree(c);
	return ERR_PTR(err);
}

void lt_chain_stop(struct lt_chain *c)
{
	if (IS_ERR_OR_NULL(c))
		return;
	cancel_delayed_work_sync(&c->sweep);
}

void lt_chain_destroy(struct lt_chain *c)
{
	u32 i;

	if (IS_ERR_OR_NULL(c))
		return;
	if (c->sweep.work.func)
		cancel_delayed_work_sync(&c->sweep);
	for (i = 0; i < c->nr_segments; i++)
		lt_tracker_destroy(c->segments[i]);
	lt_chain_store_fini(c);
	free_percpu(c->cpu);
	kfree(c);
}
