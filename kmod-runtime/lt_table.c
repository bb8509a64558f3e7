// SPDX-License-Identifier: GPL-2.0
/*
 * The lock-free table of pending begins.
 *
 * Choice: open addressing over a fixed array of 64-bit slot words, each
 * holding the index of an event from the tracker's pool, a hash tag and a
 * generation counter, changed only with cmpxchg. Why not RCU-protected
 * chains with call_rcu(): call_rcu() may not be called from NMI context, so
 * freeing would need another deferral step, and user-space tests would need
 * an RCU. Here nothing is ever freed while the table lives: events are
 * type-stable pool memory, so the reclamation problem reduces to ABA, which
 * the generation in the slot word solves:
 *
 * - Insert writes the event (key, begin time, context) first, then
 *   publishes its index with one cmpxchg on a free slot (full barrier).
 * - Lookups read a slot word, then the event's key with READ_ONCE(), then
 *   the slot word again (seqlock-style validation): if it did not change,
 *   the event was not removed, freed and reused in between, so the key read
 *   is the key of the entry that is still published.
 * - Removal is one cmpxchg from the validated word to an empty word. Only
 *   the CPU whose cmpxchg succeeds owns the event: when two ends (or an end
 *   and the timeout sweep, or a clear) race, exactly one reports the pair.
 *
 * A key lives within LT_PROBE_WINDOW slots after its hash position (linear
 * probing). Slots that were ever used keep a USED bit, so a lookup may stop
 * at the first never-used slot: every entry further on was inserted when
 * all slots before it were occupied, hence marked used. The table has 4
 * slots per event, so a full window is practically impossible; it would
 * count as a drop, never block.
 *
 * The keep policy compares begin times, so that it means the same whatever
 * the order in which racing or nested (NMI) begins reach the table: keep
 * first keeps the earliest begin, keep last the latest; a new begin as old
 * as the pending one counts as later.
 *
 * Two begins of one key racing on two CPUs may both publish (in different
 * slots). Each inserter therefore scans the window again after publishing
 * (after the full barrier of its cmpxchg: Dekker-style, at least one of
 * the two sees the other) and removes the duplicate that the keep policy
 * rejects, chosen the same way by both: the newer begin for keep-first,
 * the older for keep-last (ties by slot position).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/errno.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include "lt_internal.h"

#define LT_PROBE_WINDOW	32
#define LT_TABLE_MIN	64
#define LT_RETRIES	8

/* Slot word: gen:24 | tag:15 | used:1 | index + 1:24 */
#define LT_SLOT_INDEX_BITS	24
#define LT_SLOT_INDEX_MASK	((1ULL << LT_SLOT_INDEX_BITS) - 1)
#define LT_SLOT_USED		(1ULL << 24)
#define LT_SLOT_TAG_SHIFT	25
#define LT_SLOT_TAG_MASK	0x7fffULL
#define LT_SLOT_GEN_SHIFT	40

static_assert(LT_CAPACITY_MAX < LT_SLOT_INDEX_MASK, "indices fit a slot");

static inline u32 lt_slot_index1(u64 w)
{
	return w & LT_SLOT_INDEX_MASK;
}

static inline u32 lt_slot_tag(u64 w)
{
	return (w >> LT_SLOT_TAG_SHIFT) & LT_SLOT_TAG_MASK;
}

static inline u32 lt_key_tag(const struct lt_key *k)
{
	return (k->hash >> 48) & LT_SLOT_TAG_MASK;
}

/* The next word of a slot now holding @old: generation + 1. */
static inline u64 lt_slot_make(u64 old, u32 index1, u32 tag)
{
	u64 gen = (old >> LT_SLOT_GEN_SHIFT) + 1;

	return gen << LT_SLOT_GEN_SHIFT |
	       (u64)tag << LT_SLOT_TAG_SHIFT | LT_SLOT_USED | index1;
}

static inline struct lt_event *lt_slot_event(struct lt_table *tb, u64 w)
{
	return &tb->pool->events[lt_slot_index1(w) - 1];
}

static inline u32 lt_event_index1(struct lt_table *tb, struct lt_event *ev)
{
	return (u32)(ev - tb->pool->events) + 1;
}

int lt_table_init(struct lt_table *tb, struct lt_pool *pool, u32 capacity,
		  u32 key_size)
{
	u32 size = roundup_pow_of_two(capacity * 4);

	if (size < LT_TABLE_MIN)
		size = LT_TABLE_MIN;
	tb->slots = kvcalloc(size, sizeof(*tb->slots), GFP_KERNEL);
	if (!tb->slots)
		return -ENOMEM;
	tb->mask = size - 1;
	tb->key_words = DIV_ROUND_UP(key_size, 8);
	tb->pool = pool;
	return 0;
}

void lt_table_fini(struct lt_table *tb)
{
	kvfree(tb->slots);
	tb->slots = NULL;
}

/* A 64-bit mix (the murmur3 finalizer per word): low bits index, high tag. */
void lt_key_init(struct lt_key *k, const void *key, u32 key_size)
{
	u64 h = 0x9e3779b97f4a7c15ULL ^ key_size;
	u32 i;

	memset(k->w, 0, sizeof(k->w));
	memcpy(k->w, key, key_size);
	for (i = 0; i < LT_KEY_WORDS; i++) {
		h ^= k->w[i];
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 33;
	}
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	k->hash = h;
}

enum lt_match { LT_NO_MATCH, LT_MATCH, LT_CHANGED };

/*
 * Compares the key of the entry published as @w in slot @pos with @k, and
 * reads its begin time. LT_CHANGED: the slot changed meanwhile, look again.
 */
static enum lt_match lt_slot_match(struct lt_table *tb, u32 pos, u64 w,
				   const struct lt_key *k, u64 *begin_ns)
{
	struct lt_event *ev = lt_slot_event(tb, w);
	bool same = true;
	u32 i;

	for (i = 0; i < tb->key_words; i++)
		if (READ_ONCE(ev->key[i]) != k->w[i])
			same = false;
	*begin_ns = READ_ONCE(ev->begin_ns);
	smp_rmb();	/* the reads above before the re-read of the slot */
	if (atomic64_read(&tb->slots[pos]) != w)
		return LT_CHANGED;
	return same ? LT_MATCH : LT_NO_MATCH;
}

/*
 * Finds @k in the window. Returns true with the slot's position, word and
 * begin time; else false, with *free_pos the first empty slot seen (or -1)
 * and *free_w its word.
 */
static bool lt_table_find(struct lt_table *tb, const struct lt_key *k,
			  u32 *pos_out, u64 *w_out, u64 *begin_ns,
			  s64 *free_pos, u64 *free_w)
{
	u32 tag = lt_key_tag(k);
	u32 i, pos, retries;
	u64 w;

	*free_pos = -1;
	for (i = 0; i < LT_PROBE_WINDOW; i++) {
		pos = (k->hash + i) & tb->mask;
		retries = 0;
again:
		w = atomic64_read_acquire(&tb->slots[pos]);
		if (!lt_slot_index1(w)) {
			if (*free_pos < 0) {
				*free_pos = pos;
				*free_w = w;
			}
			if (!(w & LT_SLOT_USED))
				break;
			continue;
		}
		if (lt_slot_tag(w) != tag)
			continue;
		switch (lt_slot_match(tb, pos, w, k, begin_ns)) {
		case LT_MATCH:
			*pos_out = pos;
			*w_out = w;
			return true;
		case LT_CHANGED:
			if (++retries < LT_RETRIES)
				goto again;
			break;
		case LT_NO_MATCH:
			break;
		}
	}
	return false;
}

/*
 * The event of @k, or NULL. It stays valid only while no one else can remove
 * it: for callers that serialize removals themselves (the chains' lock).
 */
struct lt_event *lt_table_lookup(struct lt_table *tb, const struct lt_key *k)
{
	u64 w, begin_ns, free_w;
	s64 free_pos;
	u32 pos;

	if (!lt_table_find(tb, k, &pos, &w, &begin_ns, &free_pos, &free_w))
		return NULL;
	return lt_slot_event(tb, w);
}

bool lt_table_contains(struct lt_table *tb, const struct lt_key *k)
{
	u64 w, begin_ns, free_w;
	s64 free_pos;
	u32 pos;

	return lt_table_find(tb, k, &pos, &w, &begin_ns, &free_pos, &free_w);
}

/* Removes the entry published as @w at @pos; true if this caller did. */
static bool lt_slot_remove(struct lt_table *tb, u32 pos, u64 w)
{
	return atomic64_try_cmpxchg(&tb->slots[pos], &w,
				    lt_slot_make(w, 0, 0));
}

/* Is (a_ns, a_pos) the victim against (b_ns, b_pos) under the keep policy? */
static bool lt_is_victim(bool keep_last, u64 a_ns, u32 a_pos,
			 u64 b_ns, u32 b_pos)
{
	bool a_newer = a_ns > b_ns || (a_ns == b_ns && a_pos > b_pos);

	return keep_last ? !a_newer : a_newer;
}

/*
 * After publishing @mine at @my_pos, removes duplicates of @k published by
 * racing inserts, as described at the top. Returns the number removed.
 */
static u32 lt_table_resolve(struct lt_table *tb, const struct lt_key *k,
			    u32 my_pos, u64 mine, u64 my_ns, bool keep_last)
{
	u32 tag = lt_key_tag(k);
	u32 i, pos, removed = 0;
	u64 w, begin_ns;

	smp_mb();	/* publish before scan: pairs with the other inserter */
	for (i = 0; i < LT_PROBE_WINDOW; i++) {
		pos = (k->hash + i) & tb->mask;
		if (pos == my_pos)
			continue;
		w = atomic64_read_acquire(&tb->slots[pos]);
		if (!lt_slot_index1(w)) {
			if (!(w & LT_SLOT_USED))
				break;
			continue;
		}
		if (lt_slot_tag(w) != tag ||
		    lt_slot_match(tb, pos, w, k, &begin_ns) != LT_MATCH)
			continue;
		if (!lt_is_victim(keep_last, my_ns, my_pos, begin_ns, pos)) {
			if (lt_slot_remove(tb, pos, w)) {
				lt_pool_put(tb->pool, lt_slot_event(tb, w));
				removed++;
			}
			continue;
		}
		if (lt_slot_remove(tb, my_pos, mine)) {
			lt_pool_put(tb->pool, lt_slot_event(tb, mine));
			removed++;
		}
		break;	/* mine is gone, by us or by whoever took it */
	}
	return removed;
}

/**
 * lt_table_insert() - publish @ev (key, begin_ns and begin already written)
 * @tb: table
 * @k: the key, as written in @ev
 * @ev: event owned by the caller
 * @keep_last: replace a pending begin of the same key (else keep it)
 * @nr_replaced: set to the number of begins removed by the keep policy;
 *	their events are back in the pool (possibly @ev itself, if a racing
 *	begin won)
 *
 * Return: 0 when published (ownership of @ev passes to the table; with
 * keep-last, an @ev older than the pending begin goes straight back to the
 * pool, counted in @nr_replaced), -EEXIST when @k is pending and keep-first
 * applies, -ENOSPC when the window is full. On error the caller still owns
 * @ev.
 */
int lt_table_insert(struct lt_table *tb, const struct lt_key *k,
		    struct lt_event *ev, bool keep_last, u32 *nr_replaced)
{
	u32 index1 = lt_event_index1(tb, ev);
	u32 tag = lt_key_tag(k);
	u64 my_ns = READ_ONCE(ev->begin_ns);
	u64 w, mine, begin_ns, free_w = 0;
	u32 attempt, pos;
	s64 free_pos;

	*nr_replaced = 0;
	for (attempt = 0; attempt < LT_RETRIES; attempt++) {
		if (lt_table_find(tb, k, &pos, &w, &begin_ns,
				  &free_pos, &free_w)) {
			if (lt_is_victim(keep_last, my_ns, ~0U, begin_ns, pos)) {
				if (!keep_last)
					return -EEXIST;
				/* published and at once replaced by a newer one */
				lt_pool_put(tb->pool, ev);
				*nr_replaced = 1;
				return 0;
			}
			mine = lt_slot_make(w, index1, tag);
			lt_race_point("insert");
			if (!atomic64_try_cmpxchg(&tb->slots[pos], &w, mine))
				continue;
			lt_pool_put(tb->pool, lt_slot_event(tb, w));
			*nr_replaced = 1;
		} else {
			if (free_pos < 0)
				return -ENOSPC;
			pos = free_pos;
			mine = lt_slot_make(free_w, index1, tag);
			lt_race_point("insert");
			if (!atomic64_try_cmpxchg(&tb->slots[pos], &free_w,
						  mine))
				continue;
		}
		*nr_replaced += lt_table_resolve(tb, k, pos, mine, my_ns,
						 keep_last);
		return 0;
	}
	return -ENOSPC;
}

/**
 * lt_table_remove() - unlink the pending begin of @k
 * @tb: table
 * @k: key
 *
 * Return: the event, now owned by the caller (give it back to the pool
 * after reading it), or NULL when @k is not pending or another CPU removed
 * it first.
 */
struct lt_event *lt_table_remove(struct lt_table *tb, const struct lt_key *k)
{
	u64 w, begin_ns, free_w;
	u32 attempt, pos;
	s64 free_pos;

	for (attempt = 0; attempt < LT_RETRIES; attempt++) {
		if (!lt_table_find(tb, k, &pos, &w, &begin_ns,
				   &free_pos, &free_w))
			return NULL;
		lt_race_point("remove");
		if (lt_slot_remove(tb, pos, w))
			return lt_slot_event(tb, w);
		/* changed under us: replaced (keep last) or removed; look again */
	}
	return NULL;
}

/**
 * lt_table_remove_older() - unlink the entry at @pos if it began before
 * @before_ns
 * @tb: table
 * @pos: slot position
 * @before_ns: begin time bound (exclusive)
 *
 * Return: the event, owned by the caller, or NULL.
 */
struct lt_event *lt_table_remove_older(struct lt_table *tb, u32 pos,
				       u64 before_ns)
{
	struct lt_event *ev;
	u64 w, begin_ns;

	w = atomic64_read_acquire(&tb->slots[pos]);
	if (!lt_slot_index1(w))
		return NULL;
	ev = lt_slot_event(tb, w);
	begin_ns = READ_ONCE(ev->begin_ns);
	smp_rmb();	/* validate begin_ns as in lt_slot_match() */
	if (atomic64_read(&tb->slots[pos]) != w || begin_ns >= before_ns)
		return NULL;
	return lt_slot_remove(tb, pos, w) ? ev : NULL;
}

/**
 * lt_table_remove_at() - unlink whatever entry is at @pos
 * @tb: table
 * @pos: slot position
 *
 * Return: the event, owned by the caller, or NULL when the slot is empty.
 */
struct lt_event *lt_table_remove_at(struct lt_table *tb, u32 pos)
{
	u64 w = atomic64_read_acquire(&tb->slots[pos]);

	while (lt_slot_index1(w)) {
		if (atomic64_try_cmpxchg(&tb->slots[pos], &w,
					 lt_slot_make(w, 0, 0)))
			return lt_slot_event(tb, w);
	}
	return NULL;
}

/* Entries published now; exact only when quiescent. */
u32 lt_table_count(struct lt_table *tb)
{
	u32 pos, n = 0;

	for (pos = 0; pos <= tb->mask; pos++)
		if (lt_slot_index1(atomic64_read(&tb->slots[pos])))
			n++;
	return n;
}
