/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The runtime's own trace event: every hit, so that ftrace, perf and LTTng
 * see them next to the kernel's events. Trace event names are global and
 * each module links its own copy of the runtime, so the trace system is
 * per module: Kbuild.inc defines LT_TRACE_SYSTEM as ltsh_<module> and the
 * event is <system>:ltsh_hit. Without LT_TRACE_SYSTEM there is no event.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM LT_TRACE_SYSTEM

#if !defined(LT_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define LT_TRACE_H

#include <linux/tracepoint.h>
#include "lt_tracker.h"

TRACE_EVENT(ltsh_hit,
	TP_PROTO(const struct lt_hit *hit),
	TP_ARGS(hit),
	TP_STRUCT__entry(
		__field(u32, tracker)
		__field(u32, kind)
		__field(u64, latency_ns)
		__field(u32, key_size)
		__array(u8, key, LT_KEY_MAX)
		__field(u64, begin_ns)
		__field(s32, begin_tid)
		__field(u64, end_ns)
		__field(s32, end_tid)
	),
	TP_fast_assign(
		__entry->tracker = hit->tracker;
		__entry->kind = hit->kind;
		__entry->latency_ns = hit->latency_ns;
		__entry->key_size = hit->key_size;
		memcpy(__entry->key, hit->key, LT_KEY_MAX);
		__entry->begin_ns = hit->begin.ts_ns;
		__entry->begin_tid = hit->begin.tid;
		__entry->end_ns = hit->end.ts_ns;
		__entry->end_tid = hit->end.tid;
	),
	TP_printk("tracker=%u kind=%s latency_ns=%llu begin_ns=%llu begin_tid=%d end_ns=%llu end_tid=%d key=%s",
		  __entry->tracker,
		  __entry->kind == LT_HIT_TIMEOUT ? "timeout" : "threshold",
		  __entry->latency_ns, __entry->begin_ns, __entry->begin_tid,
		  __entry->end_ns, __entry->end_tid,
		  __print_hex(__entry->key, __entry->key_size))
);

#endif /* LT_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE lt_trace
#include <trace/define_trace.h>
