// SPDX-License-Identifier: GPL-2.0
/*
 * Preallocated events for pending begins.
 *
 * All events of a tracker are allocated at creation (capacity of them) and
 * never freed before the tracker is destroyed, so the probe path never
 * allocates and stale indices always point at valid memory. Free events sit
 * on free lists: one per CPU, refilled in batches from a shared one, so that
 * most gets and puts touch only the local CPU's cache line. Every list is a
 * Treiber stack whose head word carries an ABA tag, changed with cmpxchg: no
 * lock, safe when an NMI interrupts a get or put on the same CPU. A CPU whose
 * list and the shared list are both empty steals from the other CPUs, so a
 * begin is dropped only when all capacity events are really in use.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/errno.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include "lt_internal.h"

#define LT_POOL_BATCH	32	/* events moved per refill or spill */
#define LT_POOL_CPU_MAX	64	/* a CPU list longer than this spills */

static inline u32 lt_head_index(u64 head)
{
	return (u32)head;
}

static inline u64 lt_head_make(u64 old, u32 index1)
{
	return (((old >> 32) + 1) << 32) | index1;
}

static struct lt_event *lt_list_pop(struct lt_pool *pool,
				    struct lt_free_list *list)
{
	struct lt_event *ev;
	u64 old, new;
	u32 index1;

	do {
		/* acquire: the next_free written before the push is visible */
		old = atomic64_read_acquire(&list->head);
		index1 = lt_head_index(old);
		if (!index1)
			return NULL;
		ev = &pool->events[index1 - 1];
		/* may be stale if ev was popped meanwhile: the tag catches it */
		new = lt_head_make(old, READ_ONCE(ev->next_free));
		lt_race_point("pool_pop");
	} while (!atomic64_try_cmpxchg(&list->head, &old, new));
	atomic_dec(&list->count);
	return ev;
}

static void lt_list_push(struct lt_pool *pool, struct lt_free_list *list,
			 struct lt_event *ev)
{
	u32 index1 = (u32)(ev - pool->events) + 1;
	u64 old, new;

	old = atomic64_read(&list->head);
	do {
		WRITE_ONCE(ev->next_free, lt_head_index(old));
		new = lt_head_make(old, index1);
	} while (!atomic64_try_cmpxchg(&list->head, &old, new));
	atomic_inc(&list->count);
}

/**
 * lt_pool_init() - allocate @nr events, all free on the shared list
 * @pool: pool to set up
 * @nr: number of events, at least 1
 *
 * Return: 0 or -ENOMEM.
 */
int lt_pool_init(struct lt_pool *pool, u32 nr)
{
	u32 i;

	pool->nr = nr;
	pool->events = kvcalloc(nr, sizeof(*pool->events), GFP_KERNEL);
	if (!pool->events)
		return -ENOMEM;
	pool->cpu = alloc_percpu(struct lt_free_list);
	if (!pool->cpu)
		goto free_events;
	atomic64_set(&pool->shared.head, 0);
	atomic_set(&pool->shared.count, 0);
	for (i = nr; i > 0; i--)
		lt_list_push(pool, &pool->shared, &pool->events[i - 1]);
	return 0;

free_events:
	kvfree(pool->events);
	pool->events = NULL;
	return -ENOMEM;
}

void lt_pool_fini(struct lt_pool *pool)
{
	free_percpu(pool->cpu);
	kvfree(pool->events);
	pool->events = NULL;
}

/* Moves up to @nr events from @from to @to; returns how many moved. */
static u32 lt_list_move(struct lt_pool *pool, struct lt_free_list *from,
			struct lt_free_list *to, u32 nr)
{
	struct lt_event *ev;
	u32 moved;

	for (moved = 0; moved < nr; moved++) {
		ev = lt_list_pop(pool, from);
		if (!ev)
			break;
		lt_list_push(pool, to, ev);
	}
	return moved;
}

static struct lt_event *lt_pool_steal(struct lt_pool *pool)
{
	struct lt_event *ev;
	int cpu;

	for_each_possible_cpu(cpu) {
		ev = lt_list_pop(pool, per_cpu_ptr(pool->cpu, cpu));
		if (ev)
			return ev;
	}
	return NULL;
}

/**
 * lt_pool_get() - take a free event; lock-free, NMI-safe
 * @pool: pool
 *
 * Return: an event owned by the caller, or NULL when all are in use.
 */
struct lt_event *lt_pool_get(struct lt_pool *pool)
{
	/* raw: lists are atomic, so being migrated only costs locality */
	struct lt_free_list *local = raw_cpu_ptr(pool->cpu);
	struct lt_event *ev;

	ev = lt_list_pop(pool, local);
	if (ev)
		return ev;
	ev = lt_list_pop(pool, &pool->shared);
	if (ev) {
		lt_list_move(pool, &pool->shared, local, LT_POOL_BATCH - 1);
		return ev;
	}
	return lt_pool_steal(pool);
}

/**
 * lt_pool_put() - give an event back; lock-free, NMI-safe
 * @pool: pool
 * @ev: event owned by the caller and no longer reachable from the table
 */
void lt_pool_put(struct lt_pool *pool, struct lt_event *ev)
{
	struct lt_free_list *local = raw_cpu_ptr(pool->cpu);

	lt_list_push(pool, local, ev);
	if (atomic_read(&local->count) > LT_POOL_CPU_MAX)
		lt_list_move(pool, local, &pool->shared, LT_POOL_BATCH);
}

/**
 * lt_pool_free_count() - free events, summed over all lists
 * @pool: pool
 *
 * Return: the count; exact only when no get or put runs concurrently.
 */
u32 lt_pool_free_count(struct lt_pool *pool)
{
	int sum = atomic_read(&pool->shared.count);
	int cpu;

	for_each_possible_cpu(cpu)
		sum += atomic_read(&per_cpu_ptr(pool->cpu, cpu)->count);
	return sum < 0 ? 0 : sum;
}
