// The kmod backend's chain records (kmod-runtime/lt_chain.h): a struct lt_hit then three
// records carrying the token in the eBPF layout, assembled across reads; and a chain
// tracker's summary from the stats file (broken, one NAME/K line per segment).

import { test } from "uvu";
import * as assert from "uvu/assert";
import { Stage, Token } from "../../src/compiler/bpf/chain-layout.ts";
import { chainSummary, KmodRecords } from "../../src/session/kmod-chain.ts";
import { HIT_RECORD_SIZE } from "../../src/session/kmod-decode.ts";
import { planOf } from "./support.ts";

const plan = planOf(
  'track lo: softirq_raise where vec == 3 ~> sched_switch where next_comm == "r" until block > 1ns',
).trackers[0];

/** A token: origin (raise NET_RX by tid 10), run of tid 11 on CPU 1, block. */
function token(): Buffer {
  const buf = Buffer.alloc(Token.size);
  const stages: [number, number, number, number, string][] = [
    [0, 1000, 10, 3, "snd"],
    [4, 4000, 11, 0, "r"],
    [8, 9000, 11, 0, "r"],
  ];
  buf.writeUInt32LE(stages.length, Token.stages);
  stages.forEach(([kind, ts, tid, detail, comm], i) => {
    const at = Token.stage0 + i * Stage.size;
    buf.writeBigUInt64LE(BigInt(ts), at + Stage.ts);
    buf.writeBigUInt64LE(BigInt(tid) | (BigInt(tid) << 32n), at + Stage.pidTgid);
    buf.writeUInt32LE(1, at + Stage.cpu);
    buf.writeUInt32LE((kind << 24) | detail, at + Stage.info);
    buf.write(comm, at + Stage.comm, "latin1");
  });
  return buf;
}

function records(kind: number): Buffer[] {
  const header = Buffer.alloc(HIT_RECORD_SIZE);
  header.writeUInt32LE(kind, 4);
  header.writeBigUInt64LE(8000n, 8);
  const bytes = token();
  const parts = [1, 2, 3].map((part) => {
    const record = Buffer.alloc(HIT_RECORD_SIZE);
    record.writeUInt32LE(3, 4);
    record.writeBigUInt64LE(BigInt(part), 8);
    bytes.copy(record, 16, (part - 1) * 256, Math.min(part * 256, bytes.length));
    return record;
  });
  return [header, ...parts];
}

test("a chain hit is whole once its three parts are read, each stage as eBPF's", () => {
  const reader = new KmodRecords([plan]);
  const [header, ...parts] = records(1);
  assert.is(reader.push(header), null);
  assert.is(reader.push(parts[0]), null);
  assert.is(reader.push(parts[1]), null);
  const hit = reader.push(parts[2]);
  assert.is(hit?.kind, "threshold");
  assert.is(hit?.latency_ns, 8000);
  assert.equal(
    hit?.chain?.map((s) => [s.stage, s.probe, s.tid, s.cpu, s.comm, s.dur_ns, s.detail]),
    [
      ["origin", "irq:softirq_raise", 10, 1, "snd", 0, "NET_RX"],
      ["run", "sched:sched_switch", 11, 1, "r", 3000, ""],
      ["block", "sched:sched_switch", 11, 1, "r", 5000, ""],
    ],
  );
  assert.is(hit?.end?.ts_ns, 9000n);
});

test("parts out of order, or a part without its header, make no hit", () => {
  const reader = new KmodRecords([plan]);
  const [header, a, b, c] = records(2);
  assert.is(reader.push(a), null);
  assert.is(reader.push(header), null);
  assert.is(reader.push(b), null);
  assert.is(reader.push(c), null);
  const again = records(2);
  for (const r of again.slice(0, 3)) reader.push(r);
  assert.is(reader.push(again[3])?.kind, "timeout");
});

test("a chain's summary: its line, broken, and one histogram per segment", () => {
  const hist = (k: number) => Array.from({ length: 64 }, (_, i) => (i === k ? 2 : 0)).join(",");
  const text = [
    `tracker=lo pairs=2 hits=2 timeouts=0 dropped=1 lost=0 min_ns=3000 max_ns=8000 hist=${hist(13)} begins=5 pending=1 ignored=0 replaced=0 stale=0 cleared=0 sum_ns=11000 cancelled=0 broken=1 unmoved=1`,
    `tracker=lo/0 pairs=2 hits=0 timeouts=0 dropped=0 lost=0 min_ns=1000 max_ns=3000 hist=${hist(11)} begins=0 pending=0 ignored=0 replaced=0 stale=0 cleared=0 sum_ns=4000 cancelled=0 broken=0 unmoved=0`,
    `tracker=lo/1 pairs=2 hits=0 timeouts=0 dropped=0 lost=0 min_ns=2000 max_ns=5000 hist=${hist(12)} begins=0 pending=0 ignored=0 replaced=0 stale=0 cleared=0 sum_ns=7000 cancelled=0 broken=0 unmoved=0`,
  ].join("\n");
  const summary = chainSummary(text, plan);
  assert.is(summary?.broken, 1);
  assert.is(summary?.pending, 1);
  assert.equal(
    summary?.segments?.map((s) => [s.from, s.to, s.pairs, s.min_ns, s.max_ns, s.sum_ns]),
    [
      ["softirq_raise", "sched_switch", 2, 1000, 3000, 4000],
      ["sched_switch", "block", 2, 2000, 5000, 7000],
    ],
  );
});

test.run();
