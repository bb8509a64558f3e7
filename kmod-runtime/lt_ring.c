// SPDX-License-Identifier: GPL-2.0
/*
 * The ring of hit records between probes and the reader.
 *
 * A bounded queue of fixed-size cells, each with a sequence word (after
 * D. Vyukov's bounded MPMC queue): producers claim a position with cmpxchg
 * on the head, fill the cell, then publish it by storing position + 1 in
 * the cell's sequence with release semantics. No lock, so probes may push
 * from any context, NMI included (an NMI claims the next cell). A producer
 * that finds the cell of its position not yet consumed reports the ring
 * full: the caller counts the record as lost. The single consumer (the
 * reader, serialized by the output's mutex) reads a cell once its sequence
 * says it is published and hands it back by advancing the sequence a lap.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/errno.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include "lt_internal.h"

#define LT_RING_DEFAULT	4096
#define LT_RING_MAX	(1U << 20)

/**
 * lt_ring_init() - allocate a ring of @records cells
 * @ring: ring
 * @records: capacity, rounded up to a power of 2; 0: LT_RING_DEFAULT
 *
 * Return: 0, -EINVAL above LT_RING_MAX, -ENOMEM.
 */
int lt_ring_init(struct lt_ring *ring, u32 records)
{
	u32 size, i;

	if (!records)
		records = LT_RING_DEFAULT;
	if (records > LT_RING_MAX)
		return -EINVAL;
	size = roundup_pow_of_two(records);
	ring->cells = kvcalloc(size, sizeof(*ring->cells), GFP_KERNEL);
	if (!ring->cells)
		return -ENOMEM;
	for (i = 0; i < size; i++)
		atomic64_set(&ring->cells[i].seq, i);
	ring->mask = size - 1;
	atomic64_set(&ring->head, 0);
	atomic64_set(&ring->tail, 0);
	return 0;
}

void lt_ring_fini(struct lt_ring *ring)
{
	kvfree(ring->cells);
	ring->cells = NULL;
}

/**
 * lt_ring_push_n() - append copies of @n records, consecutive, all or none;
 * lock-free, NMI-safe
 * @ring: ring
 * @hits: records
 * @n: how many, 1..the ring's size
 *
 * The @n cells are claimed with one cmpxchg on the head, so no other
 * producer's record lands between them (a chain hit spans several records).
 * The consumer hands cells back in order: when the last of them is free, so
 * are the others.
 *
 * Return: 0, or -ENOSPC when the ring has no room for all (none is stored).
 */
int lt_ring_push_n(struct lt_ring *ring, const struct lt_hit *hits, u32 n)
{
	struct lt_ring_cell *cell;
	s64 pos, seq, last;
	u32 i;

	if (!n || n > ring->mask + 1)
		return -ENOSPC;
	pos = atomic64_read(&ring->head);
	for (;;) {
		cell = &ring->cells[pos & ring->mask];
		seq = atomic64_read_acquire(&cell->seq);
		if (seq > pos) {
			pos = atomic64_read(&ring->head);
			continue;
		}
		last = atomic64_read_acquire(&ring->cells[(pos + n - 1) &
							  ring->mask].seq);
		if (seq < pos || last < pos + n - 1)
			return -ENOSPC;	/* a lap behind: not consumed yet */
		if (atomic64_try_cmpxchg(&ring->head, &pos, pos + n))
			break;
	}
	lt_race_point("ring_push");
	for (i = n; i--; ) {
		cell = &ring->cells[(pos + i) & ring->mask];
		cell->hit = hits[i];
		atomic64_set_release(&cell->seq, pos + i + 1);
	}
	return 0;
}

/**
 * lt_ring_push() - append a copy of @hit; lock-free, NMI-safe
 * @ring: ring
 * @hit: record
 *
 * Return: 0, or -ENOSPC when the ring is full (the record is not stored).
 */
int lt_ring_push(struct lt_ring *ring, const struct lt_hit *hit)
{
	return lt_ring_push_n(ring, hit, 1);
}

/**
 * lt_ring_pop() - take the oldest record; the caller is the only consumer
 * @ring: ring
 * @hit: filled with the record
 *
 * Return: true if a record was there (published).
 */
bool lt_ring_pop(struct lt_ring *ring, struct lt_hit *hit)
{
	s64 pos = atomic64_read(&ring->tail);
	struct lt_ring_cell *cell = &ring->cells[pos & ring->mask];

	if (atomic64_read_acquire(&cell->seq) != pos + 1)
		return false;
	*hit = cell->hit;
	atomic64_set_release(&cell->seq, pos + ring->mask + 1);
	atomic64_set(&ring->tail, pos + 1);
	return true;
}

/* Is there no published record to read? For poll(); lock-free. */
bool lt_ring_empty(struct lt_ring *ring)
{
	s64 pos = atomic64_read(&ring->tail);
	struct lt_ring_cell *cell = &ring->cells[pos & ring->mask];

	return atomic64_read_acquire(&cell->seq) != pos + 1;
}
