// SPDX-License-Identifier: GPL-2.0
/*
 * Where a chain tracker's tokens live (src/replay/chain-tokens.ts): token
 * copies by holder, the chains they belong to, and how a chain ends: a pair
 * (the tracker's counters, each segment's, a hit over the threshold), a
 * timeout (a hit with the furthest branch: where the path is stuck), a
 * cancel, or its last copy gone: broken when it had moved. Every copy
 * counts against the tracker's capacity; one that does not fit is dropped.
 * The callers hold the chain's lock (lt_chain_internal.h).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/err.h>
#include <linux/slab.h>
#include <linux/string.h>
#include "lt_chain_internal.h"

#define LT_CHAIN_KEY_SIZE	LT_KEY_MAX
/* a part's token bytes follow its tracker, kind and part number */
#define LT_CHAIN_PART_AT	16

static inline struct lt_cpu_stats *lt_chain_stats(struct lt_chain *c)
{
	return raw_cpu_ptr(c->t->stats);
}

void lt_chain_holder_key(struct lt_key *k, u64 kind, u64 value, u64 word1,
			 const void *bytes)
{
	u64 w[LT_KEY_WORDS] = { kind << LT_HOLD_SHIFT | value, word1 };

	if (bytes)
		memcpy(&w[1], bytes, LT_CHAIN_KEY_MAX);
	lt_key_init(k, w, LT_CHAIN_KEY_SIZE);
}

static inline u32 lt_slot_index(struct lt_chain *c, struct lt_event *ev)
{
	return ev - c->pool.events;
}

static struct lt_chain_slot *lt_chain_find(struct lt_chain *c,
					   const struct lt_key *k)
{
	struct lt_event *ev = lt_table_lookup(&c->table, k);

	return ev ? &c->slots[lt_slot_index(c, ev)] : NULL;
}

bool lt_chain_expired(struct lt_chain *c, u32 rec, u64 now)
{
	u64 timeout = READ_ONCE(c->t->timeout_ns);
	u64 origin = c->recs[rec].origin_ns;

	return timeout && now > origin && now - origin > timeout;
}

/* The token held at @k, or NULL; a chain past its deadline times out first. */
struct lt_chain_slot *lt_chain_held(struct lt_chain *c,
				    const struct lt_key *k, u64 now)
{
	struct lt_chain_slot *s = lt_chain_find(c, k);

	if (s && lt_chain_expired(c, s->rec, now)) {
		lt_chain_timeout(c, s->rec, now);
		return NULL;
	}
	return s;
}

/* Publishes @s at @k (nothing is there: the callers made sure). */
static bool lt_chain_put(struct lt_chain *c, struct lt_chain_slot *s,
			 const struct lt_key *k)
{
	struct lt_event *ev = &c->pool.events[s - c->slots];
	u32 replaced, i;

	for (i = 0; i < LT_KEY_WORDS; i++)
		WRITE_ONCE(ev->key[i], k->w[i]);
	WRITE_ONCE(ev->begin_ns, c->recs[s->rec].origin_ns);
	if (lt_table_insert(&c->table, k, ev, false, &replaced))
		return false;
	s->key = *k;
	s->placed = true;
	return true;
}

static void lt_chain_unhold(struct lt_chain *c, struct lt_chain_slot *s)
{
	if (s->placed)
		lt_table_remove(&c->table, &s->key);
	s->placed = false;
}

static void lt_chain_link(struct lt_chain *c, struct lt_chain_slot *s,
			  u32 rec)
{
	struct lt_chain_rec *r = &c->recs[rec];
	u32 index1 = s - c->slots + 1;

	s->rec = rec;
	s->prev = 0;
	s->next = r->first;
	if (r->first)
		c->slots[r->first - 1].prev = index1;
	r->first = index1;
	r->branches++;
}

static void lt_chain_unlink(struct lt_chain *c, struct lt_chain_slot *s)
{
	struct lt_chain_rec *r = &c->recs[s->rec];

	if (s->prev)
		c->slots[s->prev - 1].next = s->next;
	else
		r->first = s->next;
	if (s->next)
		c->slots[s->next - 1].prev = s->prev;
	r->branches--;
}

/* A chain over: off the live list, its record free again. */
static void lt_chain_retire(struct lt_chain *c, u32 rec)
{
	struct lt_chain_rec *r = &c->recs[rec];

	if (r->older)
		c->recs[r->older - 1].newer = r->newer;
	else
		c->oldest = r->newer;
	if (r->newer)
		c->recs[r->newer - 1].older = r->older;
	else
		c->newest = r->older;
	r->live = false;
	r->next_free = c->free_rec;
	c->free_rec = rec + 1;
}

/* Drops one copy; when it was its chain's last, the chain is over. */
void lt_chain_detach(struct lt_chain *c, struct lt_chain_slot *s)
{
	u32 rec = s->rec;

	lt_chain_unhold(c, s);
	lt_chain_unlink(c, s);
	lt_pool_put(&c->pool, &c->pool.events[s - c->slots]);
	if (c->recs[rec].branches)
		return;
	/* an origin that led nowhere (a tick that woke no one) is no error */
	if (c->recs[rec].moved)
		atomic64_inc(&lt_chain_stats(c)->broken);
	else
		atomic64_inc(&lt_chain_stats(c)->unmoved);
	lt_chain_retire(c, rec);
}

/* The chain ended: every copy is withdrawn, nothing is broken. */
static void lt_chain_end(struct lt_chain *c, u32 rec)
{
	struct lt_chain_slot *s;

	while (c->recs[rec].first) {
		s = &c->slots[c->recs[rec].first - 1];
		lt_chain_unhold(c, s);
		lt_chain_unlink(c, s);
		lt_pool_put(&c->pool, &c->pool.events[s - c->slots]);
	}
	lt_chain_retire(c, rec);
}

static struct lt_chain_slot *lt_chain_alloc(struct lt_chain *c)
{
	struct lt_event *ev = lt_pool_get(&c->pool);

	if (ev)
		return &c->slots[lt_slot_index(c, ev)];
	atomic64_inc(&lt_chain_stats(c)->dropped);
	return NULL;
}

/* Places a new copy; one that finds no table slot is dropped. */
static bool lt_chain_place_new(struct lt_chain *c, struct lt_chain_slot *s,
			       const struct lt_key *k)
{
	if (lt_chain_put(c, s, k))
		return true;
	atomic64_inc(&lt_chain_stats(c)->dropped);
	lt_chain_detach(c, s);
	return false;
}

struct lt_chain_slot *lt_chain_new(struct lt_chain *c, const struct lt_key *k,
				   u64 now, struct lt_chain_stage *origin)
{
	struct lt_chain_slot *existing = lt_chain_held(c, k, now);
	struct lt_chain_slot *s;
	struct lt_chain_rec *r;
	u32 rec;

	if (existing && !c->t->keep_last)
		return NULL;
	if (existing)
		lt_chain_detach(c, existing);
	if (!c->free_rec) {
		atomic64_inc(&lt_chain_stats(c)->dropped);
		return NULL;
	}
	s = lt_chain_alloc(c);
	if (!s)
		return NULL;
	rec = c->free_rec - 1;
	r = &c->recs[rec];
	c->free_rec = r->next_free;
	memset(r, 0, sizeof(*r));
	r->origin_ns = now;
	r->live = true;
	r->older = c->newest;
	if (c->newest)
		c->recs[c->newest - 1].newer = rec + 1;
	else
		c->oldest = rec + 1;
	c->newest = rec + 1;
	memset(&s->tok, 0, sizeof(s->tok));
	s->tok.chain = ++c->next_id;
	s->tok.origin_ns = now;
	s->tok.step = 1;
	s->tok.step_ns[0] = now;
	*lt_chain_next_stage(&s->tok) = *origin;
	s->placed = false;
	lt_chain_link(c, s, rec);
	atomic64_inc(&lt_chain_stats(c)->begins);
	return lt_chain_place_new(c, s, k) ? s : NULL;
}

struct lt_chain_slot *lt_chain_copy(struct lt_chain *c,
				    struct lt_chain_slot *src,
				    const struct lt_key *k, bool oldest_wins,
				    u64 now)
{
	struct lt_chain_slot *existing, *s;

	c->recs[src->rec].moved = true;
	existing = lt_chain_held(c, k, now);
	if (existing && (oldest_wins || !c->t->keep_last))
		return NULL;
	if (existing == src)
		return src;	/* a copy onto itself (keep last): the same path */
	if (existing)
		lt_chain_detach(c, existing);
	s = lt_chain_alloc(c);
	if (!s)
		return NULL;
	s->tok = src->tok;
	s->placed = false;
	lt_chain_link(c, s, src->rec);
	return lt_chain_place_new(c, s, k) ? s : NULL;
}

bool lt_chain_move(struct lt_chain *c, struct lt_chain_slot *s,
		   const struct lt_key *k, u64 now)
{
	struct lt_chain_slot *existing = lt_chain_held(c, k, now);

	if (existing == s)
		return true;
	if (existing && !c->t->keep_last) {
		lt_chain_detach(c, s);
		return false;
	}
	if (existing)
		lt_chain_detach(c, existing);
	lt_chain_unhold(c, s);
	c->recs[s->rec].moved = true;
	return lt_chain_place_new(c, s, k);
}

void lt_chain_cancel(struct lt_chain *c, struct lt_chain_slot *s)
{
	atomic64_inc(&lt_chain_stats(c)->cancelled);
	lt_chain_end(c, s->rec);
}

static void lt_chain_ctx(struct lt_ctx *ctx, const struct lt_chain_stage *st)
{
	ctx->ts_ns = st->ts_ns;
	ctx->cpu = st->cpu;
	ctx->tid = (s32)st->pid_tgid;
	ctx->pid = (s32)(st->pid_tgid >> 32);
	ctx->probe = 0;
	ctx->reserved = 0;
	memcpy(ctx->comm, st->comm, LT_COMM_LEN);
}

/*
 * A hit: a struct lt_hit (the origin as begin, the last stage as end) and
 * LT_CHAIN_PARTS records carrying the token, claimed in the ring at once.
 */
static void lt_chain_emit(struct lt_chain *c, const struct lt_chain_token *tok,
			  u32 kind, u64 latency)
{
	struct lt_hit *hit = &c->scratch[0];
	const u8 *bytes = (const u8 *)tok;
	u32 i, at, n;

	if (!c->t->out)
		return;
	memset(c->scratch, 0, sizeof(c->scratch));
	hit->tracker = c->t->index;
	hit->kind = kind;
	hit->latency_ns = latency;
	hit->reserved = LT_CHAIN_PARTS;
	lt_chain_ctx(&hit->begin, &tok->stages[0]);
	if (kind == LT_HIT_THRESHOLD)
		lt_chain_ctx(&hit->end, &tok->stages[tok->nr_stages - 1]);
	for (i = 1; i <= LT_CHAIN_PARTS; i++) {
		hit = &c->scratch[i];
		hit->tracker = c->t->index;
		hit->kind = LT_HIT_CHAIN_PART;
		hit->latency_ns = i;
		at = (i - 1) * LT_CHAIN_PART_BYTES;
		n = min_t(u32, LT_CHAIN_PART_BYTES, sizeof(*tok) - at);
		memcpy((u8 *)hit + LT_CHAIN_PART_AT, bytes + at, n);
	}
	if (lt_output_push_n(c->t->out, c->scratch, 1 + LT_CHAIN_PARTS))
		atomic64_inc(&lt_chain_stats(c)->lost);
}

/* The chain of @s ends in a pair at its last stage. */
void lt_chain_pair(struct lt_chain *c, struct lt_chain_slot *s)
{
	const struct lt_chain_token *tok = &s->tok;
	u64 latency = tok->stages[tok->nr_stages - 1].ts_ns - tok->origin_ns;
	u64 threshold = READ_ONCE(c->t->threshold_ns);
	u32 i;

	lt_record_pair(c->t, latency);
	for (i = 0; i < c->nr_segments; i++)
		lt_record_pair(c->segments[i],
			       tok->step_ns[i + 1] - tok->step_ns[i]);
	if (threshold && latency > threshold) {
		atomic64_inc(&lt_chain_stats(c)->hits);
		lt_chain_emit(c, tok, LT_HIT_THRESHOLD, latency);
	}
	lt_chain_end(c, s->rec);
}

/* Is @a further than @b: more steps reached, then more stages, then later? */
static bool lt_chain_further(const struct lt_chain_token *a,
			     const struct lt_chain_token *b)
{
	if (a->step != b->step)
		return a->step > b->step;
	if (a->nr_stages != b->nr_stages)
		return a->nr_stages > b->nr_stages;
	return a->stages[a->nr_stages - 1].ts_ns >
	       b->stages[b->nr_stages - 1].ts_ns;
}

/* A timeout hit with the branch that got furthest, then the chain ends. */
void lt_chain_timeout(struct lt_chain *c, u32 rec, u64 now)
{
	struct lt_chain_token *best = NULL, *tok;
	u32 at;

	for (at = c->recs[rec].first; at; at = c->slots[at - 1].next) {
		tok = &c->slots[at - 1].tok;
		if (!best || lt_chain_further(tok, best))
			best = tok;
	}
	atomic64_inc(&lt_chain_stats(c)->timeouts);
	if (best)
		lt_chain_emit(c, best, LT_HIT_TIMEOUT, now - best->origin_ns);
	lt_chain_end(c, rec);
}

int lt_chain_store_init(struct lt_chain *c, u32 capacity)
{
	u32 i;
	int err;

	err = lt_pool_init(&c->pool, capacity);
	if (err)
		return err;
	err = lt_table_init(&c->table, &c->pool, capacity, LT_CHAIN_KEY_SIZE);
	if (err)
		goto fini_pool;
	err = -ENOMEM;
	c->slots = kvcalloc(capacity, sizeof(*c->slots), GFP_KERNEL);
	if (!c->slots)
		goto fini_table;
	c->recs = kvcalloc(capacity, sizeof(*c->recs), GFP_KERNEL);
	if (!c->recs)
		goto free_slots;
	for (i = 0; i < capacity; i++)
		c->recs[i].next_free = i + 2 <= capacity ? i + 2 : 0;
	c->free_rec = 1;
	return 0;

free_slots:
	kvfree(c->slots);
fini_table:
	lt_table_fini(&c->table);
fini_pool:
	lt_pool_fini(&c->pool);
	return err;
}

void lt_chain_store_fini(struct lt_chain *c)
{
	while (c->oldest)
		lt_chain_end(c, c->oldest - 1);
	kvfree(c->recs);
	kvfree(c->slots);
	lt_table_fini(&c->table);
	lt_pool_fini(&c->pool);
}
