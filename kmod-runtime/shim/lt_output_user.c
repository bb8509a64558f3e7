// SPDX-License-Identifier: GPL-2.0
/*
 * The user-space lt_output for tests: the same ring as
 * the kernel's (lt_ring.c), without device files; lt_output_user_pop()
 * reads it. Tracker listing is a plain array, as in lt_output.c.
 */
#include "lt_shim.h"
#include "../lt_internal.h"
#include "lt_output_user.h"

struct lt_output {
	struct lt_ring ring;
	struct lt_tracker *trackers[LT_OUTPUT_TRACKERS_MAX];
	u32 nr_trackers;
};

struct lt_output *lt_output_create(const char *module_name, u32 ring_records)
{
	struct lt_output *out;
	int err;

	if (!module_name || !*module_name)
		return ERR_PTR(-EINVAL);
	out = kzalloc(sizeof(*out), GFP_KERNEL);
	if (!out)
		return ERR_PTR(-ENOMEM);
	err = lt_ring_init(&out->ring, ring_records);
	if (err) {
		kfree(out);
		return ERR_PTR(err);
	}
	return out;
}

void lt_output_destroy(struct lt_output *out)
{
	if (IS_ERR_OR_NULL(out))
		return;
	lt_ring_fini(&out->ring);
	kfree(out);
}

int lt_output_add_tracker(struct lt_output *out, struct lt_tracker *t)
{
	if (out->nr_trackers == LT_OUTPUT_TRACKERS_MAX)
		return -ENOSPC;
	out->trackers[out->nr_trackers++] = t;
	t->listed_in = out;
	return 0;
}

void lt_output_remove_tracker(struct lt_output *out, struct lt_tracker *t)
{
	u32 i;

	for (i = 0; i < out->nr_trackers; i++) {
		if (out->trackers[i] == t) {
			out->trackers[i] = out->trackers[--out->nr_trackers];
			break;
		}
	}
	t->listed_in = NULL;
}

int lt_output_push(struct lt_output *out, const struct lt_hit *hit)
{
	return lt_ring_push(&out->ring, hit);
}

int lt_output_push_n(struct lt_output *out, const struct lt_hit *hits, u32 n)
{
	return lt_ring_push_n(&out->ring, hits, n);
}

bool lt_output_user_pop(struct lt_output *out, struct lt_hit *hit)
{
	return lt_ring_pop(&out->ring, hit);
}
