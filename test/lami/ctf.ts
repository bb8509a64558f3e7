// A tiny CTF 1.8 kernel trace written by hand (TSDL metadata and one little-endian stream),
// the shape of an LTTng kernel trace for sched_wakeup and sched_switch, so that ltsh-lami's
// CTF path (through babeltrace) is tested without LTTng. Its clock has an epoch offset, as
// LTTng's does: timestamps past 2^53 ns.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const METADATA = `/* CTF 1.8 */
typealias integer { size = 32; align = 8; signed = false; } := uint32_t;
typealias integer { size = 32; align = 8; signed = true; } := int32_t;
typealias integer { size = 64; align = 8; signed = true; } := int64_t;
trace {
	major = 1;
	minor = 8;
	byte_order = le;
	packet.header := struct { uint32_t magic; };
};
env {
	hostname = "testhost";
	domain = "kernel";
};
clock {
	name = "monotonic";
	freq = 1000000000;
	offset_s = 1700000000;
};
typealias integer { size = 64; align = 8; signed = false; map = clock.monotonic.value; } := clock_t;
stream {
	packet.context := struct { uint32_t cpu_id; };
	event.header := struct { uint32_t id; clock_t timestamp; };
};
event {
	name = "sched_wakeup";
	id = 0;
	fields := struct { string comm; int32_t tid; int32_t prio; int32_t target_cpu; };
};
event {
	name = "sched_switch";
	id = 1;
	fields := struct { string prev_comm; int32_t prev_tid; int32_t prev_prio; int64_t prev_state;
		string next_comm; int32_t next_tid; int32_t next_prio; };
};
`;

/** Seconds of the clock's offset: event times are 1700000000 s + their clock value. */
export const CTF_OFFSET_NS = 1_700_000_000_000_000_000n;

function header(id: number, ns: bigint): Buffer {
  const bytes = Buffer.alloc(12);
  bytes.writeUInt32LE(id, 0);
  bytes.writeBigUInt64LE(ns, 4);
  return bytes;
}

const text = (s: string) => Buffer.from(`${s}\0`);
function ints(...values: number[]): Buffer {
  const bytes = Buffer.alloc(values.length * 4);
  for (const [i, v] of values.entries()) bytes.writeInt32LE(v, i * 4);
  return bytes;
}

function wakeup(ns: bigint, comm: string, tid: number): Buffer {
  return Buffer.concat([header(0, ns), text(comm), ints(tid, 120, 0)]);
}

function switchTo(ns: bigint, prev: [string, number], next: [string, number]): Buffer {
  const state = Buffer.alloc(8);
  state.writeBigInt64LE(1n);
  return Buffer.concat([
    header(1, ns),
    text(prev[0]),
    ints(prev[1], 120),
    state,
    text(next[0]),
    ints(next[1], 120),
  ]);
}

/**
 * Task 5 woken at 1 s and switched in 300 µs later; task 6 woken at 2 s and switched in
 * 50 µs later (clock values; add CTF_OFFSET_NS for the trace's times). CPU 0.
 */
export function writeCtfTrace(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "metadata"), METADATA);
  const magic = Buffer.alloc(8);
  magic.writeUInt32LE(0xc1fc1fc1, 0);
  magic.writeUInt32LE(0, 4); // packet.context: cpu_id
  const events = [
    wakeup(1_000_000_000n, "a", 5),
    switchTo(1_000_300_000n, ["x", 9], ["a", 5]),
    wakeup(2_000_000_000n, "b", 6),
    switchTo(2_000_050_000n, ["a", 5], ["b", 6]),
  ];
  writeFileSync(join(dir, "stream_0"), Buffer.concat([magic, ...events]));
}
