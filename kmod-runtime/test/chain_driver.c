// SPDX-License-Identifier: GPL-2.0
/*
 * Drives lt_chain.c from a script on stdin, for test/kmod-chain-model.test.ts,
 * which feeds the same events to the replay reference and compares. Lines:
 *
 *   config NR_STEPS SWITCH_STEPS KEY_STEPS UNTIL_BLOCK CAPACITY KEEP_LAST
 *          THRESHOLD_NS TIMEOUT_NS
 *   event TS CPU TID TGID COMM KIND ARG STEPS CANCEL PREV_PID PREV_STATE
 *         OTHER_COMM KEY_0 .. KEY_NR_STEPS-1  (COMM "-": none; KEY: a u32;
 *         an irq exit's PREV_STATE: the handler's return)
 *   expire TS
 *
 * Output: "hit KIND LATENCY NR_STAGES", then one "stage KIND STEP TID CPU TS"
 * line per stage; at the end "stats pairs=.. hits=.. ..." as the stats file.
 */
#include <stdio.h>
#include "lt_test.h"
#include "../lt_chain.h"

int lt_test_failures;

static void print_hits(struct lt_output *out)
{
	struct lt_chain_token tok;
	struct lt_hit hit, part;
	u32 i;

	while (lt_output_user_pop(out, &hit)) {
		for (i = 0; i < LT_CHAIN_PARTS; i++) {
			if (!lt_output_user_pop(out, &part) ||
			    part.kind != LT_HIT_CHAIN_PART) {
				printf("broken-record\n");
				return;
			}
			memcpy((u8 *)&tok + i * LT_CHAIN_PART_BYTES,
			       (u8 *)&part + 16,
			       min_t(u32, LT_CHAIN_PART_BYTES,
				     sizeof(tok) - i * LT_CHAIN_PART_BYTES));
		}
		printf("hit %u %llu %u\n", hit.kind,
		       (unsigned long long)hit.latency_ns, tok.nr_stages);
		for (i = 0; i < tok.nr_stages; i++)
			printf("stage %u %u %d %u %llu\n",
			       tok.stages[i].info >> 24,
			       (tok.stages[i].info >> 16) & 0xff,
			       (s32)tok.stages[i].pid_tgid, tok.stages[i].cpu,
			       (unsigned long long)tok.stages[i].ts_ns);
	}
}

static int read_event(struct lt_chain_event *ev, u32 nr_steps, char *comm,
		      char *other)
{
	unsigned long long ts;
	int cpu, tid, tgid, cancel;
	u32 k, key;

	memset(ev, 0, sizeof(*ev));
	if (scanf("%llu %d %d %d %15s %u %d %u %d %d %ld %15s", &ts, &cpu,
		  &tid, &tgid, comm, &ev->kind, &ev->arg, &ev->steps, &cancel,
		  &ev->prev_pid, &ev->prev_state, other) != 12)
		return -1;
	for (k = 0; k < nr_steps; k++) {
		if (scanf("%u", &key) != 1)
			return -1;
		memcpy(ev->keys[k], &key, sizeof(key));
	}
	ev->ts_ns = ts;
	ev->cancel = cancel;
	/* an irq exit's PREV_STATE column is the handler's return */
	if (ev->kind == LT_CHAIN_EV_IRQ_EXIT)
		ev->ret = (s32)ev->prev_state;
	ev->comm = strcmp(other, "-") ? other : NULL;
	lt_shim_set_cpu(cpu);
	lt_shim_task.pid = tid;
	lt_shim_task.tgid = tgid;
	memset(lt_shim_task.comm, 0, sizeof(lt_shim_task.comm));
	strncpy(lt_shim_task.comm, comm, sizeof(lt_shim_task.comm) - 1);
	return 0;
}

int main(void)
{
	static const char *const names[] = { "s0", "s1", "s2", "s3", "s4",
					     "s5", "s6", "s7", "s8" };
	struct lt_tracker_config tcfg = { .name = "model", .key_size = 1 };
	struct lt_chain_config cfg = { .segment_names = names };
	unsigned long long threshold, timeout, ts;
	char word[16], comm[16], other[16];
	struct lt_chain_event ev;
	struct lt_output *out;
	struct lt_tracker *t;
	struct lt_chain *c;
	struct lt_stats s;
	int until, keep;

	if (scanf("config %u %u %u %d %u %d %llu %llu", &cfg.nr_steps,
		  &cfg.switch_steps, &cfg.key_steps, &until, &tcfg.capacity,
		  &keep, &threshold, &timeout) != 8)
		return 2;
	cfg.until_block = until;
	tcfg.keep_last = keep;
	tcfg.threshold_ns = threshold;
	tcfg.timeout_ns = timeout;
	out = lt_output_create("chain", 1 << 16);
	t = lt_tracker_create(&tcfg, out);
	c = lt_chain_create(&cfg, t, NULL);
	if (IS_ERR(out) || IS_ERR(t) || IS_ERR(c))
		return 2;
	while (scanf("%15s", word) == 1) {
		if (!strcmp(word, "expire") && scanf("%llu", &ts) == 1)
			lt_chain_expire(c, ts);
		else if (!strcmp(word, "event") &&
			 !read_event(&ev, cfg.nr_steps, comm, other))
			lt_chain_event(c, &ev);
		else
			return 2;
		print_hits(out);
	}
	lt_tracker_stats(t, &s);
	printf("stats pairs=%llu hits=%llu timeouts=%llu dropped=%llu cancelled=%llu broken=%llu pending=%llu\n",
	       (unsigned long long)s.pairs, (unsigned long long)s.hits,
	       (unsigned long long)s.timeouts, (unsigned long long)s.dropped,
	       (unsigned long long)s.cancelled, (unsigned long long)s.broken,
	       (unsigned long long)s.pending);
	lt_chain_destroy(c);
	lt_tracker_destroy(t);
	lt_output_destroy(out);
	return 0;
}
