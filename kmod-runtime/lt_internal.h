/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Structures shared by the runtime's files; not for modules.
 *
 * The runtime is split by concept: lt_pool.c (preallocated events), lt_table.c
 * (the lock-free table of pending begins), lt_tracker.c (the public tracker
 * API, counters, the timeout sweep), lt_ring.c (the hit ring) and
 * lt_output.c (the device and stats files, kernel only; the userspace tests
 * use shim/lt_output_user.c instead).
 */
#ifndef LT_INTERNAL_H
#define LT_INTERNAL_H

#include <linux/atomic.h>
#include <linux/log2.h>
#include <linux/percpu.h>
#include <linux/workqueue.h>
#include "lt_tracker.h"

#define LT_KEY_WORDS	(LT_KEY_MAX / 8)

/*
 * Points between reading shared state and the cmpxchg that acts on it: the
 * user-space tests run a nested operation there, as an interrupt or NMI on
 * the same CPU could. Nothing in the kernel build.
 */
#ifndef lt_race_point
#define lt_race_point(name) do { } while (0)
#endif

/*
 * A pending begin. Memory is type-stable: events live in one array for the
 * tracker's lifetime, so a reader holding a stale index never touches freed
 * memory. @key, @begin_ns and @next_free may be read speculatively by other
 * CPUs and are only accessed with READ_ONCE()/WRITE_ONCE(); @begin is only
 * touched by the event's owner (the CPU that took it from the pool or won
 * its removal from the table).
 */
struct lt_event {
	u64 key[LT_KEY_WORDS];
	u64 begin_ns;
	u32 next_free;		/* index + 1 of the next free event; 0: none */
	u32 reserved;
	struct lt_ctx begin;
};

/* A free list: a Treiber stack of event indices with an ABA tag. */
struct lt_free_list {
	atomic64_t head;	/* tag << 32 | (index + 1) */
	atomic_t count;		/* exact when quiescent; a hint otherwise */
};

struct lt_pool {
	struct lt_event *events;
	u32 nr;
	struct lt_free_list shared;
	struct lt_free_list __percpu *cpu;
};

int lt_pool_init(struct lt_pool *pool, u32 nr);
void lt_pool_fini(struct lt_pool *pool);
struct lt_event *lt_pool_get(struct lt_pool *pool);
void lt_pool_put(struct lt_pool *pool, struct lt_event *ev);
u32 lt_pool_free_count(struct lt_pool *pool);

/* A key padded to whole words, with its hash. */
struct lt_key {
	u64 w[LT_KEY_WORDS];
	u64 hash;
};

struct lt_table {
	atomic64_t *slots;
	u32 mask;
	u32 key_words;
	struct lt_pool *pool;
};

int lt_table_init(struct lt_table *tb, struct lt_pool *pool, u32 capacity,
		  u32 key_size);
void lt_table_fini(struct lt_table *tb);
void lt_key_init(struct lt_key *k, const void *key, u32 key_size);
int lt_table_insert(struct lt_table *tb, const struct lt_key *k,
		    struct lt_event *ev, bool keep_last, u32 *nr_replaced);
bool lt_table_contains(struct lt_table *tb, const struct lt_key *k);
struct lt_event *lt_table_lookup(struct lt_table *tb, const struct lt_key *k);
struct lt_event *lt_table_remove(struct lt_table *tb, const struct lt_key *k);
struct lt_event *lt_table_remove_older(struct lt_table *tb, u32 pos,
				       u64 before_ns);
struct lt_event *lt_table_remove_at(struct lt_table *tb, u32 pos);
u32 lt_table_count(struct lt_table *tb);

static inline u32 lt_table_size(const struct lt_table *tb)
{
	return tb->mask + 1;
}

/* Per-CPU counters: atomic so that an NMI nesting on the same CPU is safe. */
struct lt_cpu_stats {
	atomic64_t begins;
	atomic64_t pairs;
	atomic64_t hits;
	atomic64_t timeouts;
	atomic64_t dropped;
	atomic64_t lost;
	atomic64_t ignored;
	atomic64_t replaced;
	atomic64_t stale;
	atomic64_t cleared;
	atomic64_t cancelled;
	atomic64_t broken;	/* chains: last copy gone after moving */
	atomic64_t unmoved;	/* chains: last copy gone at the origin */
	atomic64_t min_ns;	/* U64_MAX: no pair yet */
	atomic64_t max_ns;
	atomic64_t sum_ns;	/* of every pair's latency; wraps at 2^64 */
	atomic64_t hist[LT_HIST_BUCKETS];
};

#define LT_NAME_LEN	64

struct lt_tracker {
	char name[LT_NAME_LEN];
	u32 index;
	u32 key_size;
	u32 capacity;
	bool keep_last;
	bool stack;		/* threshold hits carry the end's stack */
	u64 threshold_ns;	/* READ_ONCE(): module params change it */
	u64 timeout_ns;		/* READ_ONCE() */
	u64 stale_ns;
	u32 capture_size;
	u8 *captures;		/* capture_size bytes per pool event; NULL: none */
	struct lt_pool pool;
	struct lt_table table;
	struct lt_cpu_stats __percpu *stats;
	struct lt_output *out;		/* hits go there; may be NULL */
	struct lt_output *listed_in;	/* stats file listing it; may be NULL */
	atomic_t sweep_pos;
	u32 sweep_slice;
	struct delayed_work sweep;
};

static inline struct lt_cpu_stats *lt_stats_this_cpu(struct lt_tracker *t)
{
	/* raw: counters are atomic, so being migrated is harmless */
	return raw_cpu_ptr(t->stats);
}

/*
 * Bucket k >= 1 holds 2^(k-1) < v <= 2^k, bucket 0 holds v <= 1: the one
 * convention of every ltsh backend (src/records/stats.ts), so user space
 * merges bucket indexes as they are. fls64(v - 1) is the smallest k with
 * v <= 2^k; the last bucket also takes everything above 2^63.
 */
static inline u32 lt_hist_bucket(u64 ns)
{
	u32 k;

	if (ns <= 1)
		return 0;
	k = fls64(ns - 1);
	return k < LT_HIST_BUCKETS ? k : LT_HIST_BUCKETS - 1;
}

/*
 * A pair's latency into the counters and histogram of this CPU. Inline: it
 * is on the path of every end (lt_tracker.c) and chain pair (lt_chain_store.c).
 */
static inline void lt_record_pair(struct lt_tracker *t, u64 latency)
{
	struct lt_cpu_stats *s = lt_stats_this_cpu(t);
	s64 old;

	atomic64_inc(&s->pairs);
	atomic64_add(latency, &s->sum_ns);
	atomic64_inc(&s->hist[lt_hist_bucket(latency)]);
	old = atomic64_read(&s->min_ns);
	while ((u64)old > latency &&
	       !atomic64_try_cmpxchg(&s->min_ns, &old, latency))
		;
	old = atomic64_read(&s->max_ns);
	while ((u64)old < latency &&
	       !atomic64_try_cmpxchg(&s->max_ns, &old, latency))
		;
}

/* The ring of hit records (lt_ring.c): many producers, one consumer. */
struct lt_ring_cell {
	atomic64_t seq;
	struct lt_hit hit;
};

struct lt_ring {
	struct lt_ring_cell *cells;
	u32 mask;
	atomic64_t head;	/* next position producers claim */
	atomic64_t tail;	/* next position the consumer reads */
};

int lt_ring_init(struct lt_ring *ring, u32 records);
void lt_ring_fini(struct lt_ring *ring);
int lt_ring_push(struct lt_ring *ring, const struct lt_hit *hit);
int lt_ring_push_n(struct lt_ring *ring, const struct lt_hit *hits, u32 n);
bool lt_ring_pop(struct lt_ring *ring, struct lt_hit *hit);
bool lt_ring_empty(struct lt_ring *ring);

/* Implemented by lt_output.c (kernel) and shim/lt_output_user.c (tests). */
int lt_output_push(struct lt_output *out, const struct lt_hit *hit);
int lt_output_push_n(struct lt_output *out, const struct lt_hit *hits, u32 n);

void lt_output_remove_tracker(struct lt_output *out, struct lt_tracker *t);

#endif /* LT_INTERNAL_H */
