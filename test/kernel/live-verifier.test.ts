// Property: random well-typed trackers over real tracepoints (keys of ints and strings,
// filters mixing fields, builtins, strings and logic, thresholds, timeouts) all compile
// through the front end and pass this kernel's verifier. Bounded to keep the suite fast.

import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { kernelTaskOffsets } from "../../src/compiler/bpf/btf.ts";
import { generateTracker, ringbufSpec } from "../../src/compiler/bpf/codegen.ts";
import { closeFd, createMap } from "../../src/kernel/bpf.ts";
import { LiveLoadError, loadTracepointProgram } from "../../src/session/live-tracker.ts";
import { compileText } from "./live-support.ts";
import { kernelSkipReason, reportSkip } from "./support.ts";

interface Probe {
  name: string;
  ints: string[];
  strings: string[];
  /** char[16] fields, usable as keys next to $comm */
  comms: string[];
}

const probes: Probe[] = [
  {
    name: "sched_wakeup",
    ints: ["pid", "prio", "target_cpu", "common_pid"],
    strings: ["comm"],
    comms: ["comm"],
  },
  {
    name: "sched_switch",
    ints: ["prev_pid", "prev_prio", "prev_state", "next_pid", "next_prio"],
    strings: ["prev_comm", "next_comm"],
    comms: ["prev_comm", "next_comm"],
  },
  {
    name: "block_rq_issue",
    ints: ["dev", "sector", "nr_sector", "bytes", "ioprio"],
    strings: ["rwbs", "comm"],
    comms: ["comm"],
  },
  {
    name: "block_rq_complete",
    ints: ["dev", "sector", "error", "ioprio"],
    strings: ["rwbs"],
    comms: [],
  },
  { name: "sys_enter_write", ints: ["fd", "count", "__syscall_nr"], strings: [], comms: [] },
  { name: "sys_exit_write", ints: ["ret"], strings: [], comms: [] },
];

const builtins = ["$tid", "$pid", "$cpu", "$uid", "$cgroup"];
const literal = fc.oneof(
  fc.integer({ min: 0, max: 1000 }).map(String),
  fc.constantFrom("2147483647", "2147483648", "4294967296", "0xffffffffffffffff", "0x10"),
);
const word = fc.stringMatching(/^[a-z0-9_]{0,20}$/);
const compareOp = fc.constantFrom("==", "!=", "<", "<=", ">", ">=");

function intOperand(p: Probe) {
  return fc.constantFrom(...p.ints.map((f) => `args.${f}`), ...builtins);
}

function stringOperand(p: Probe) {
  return fc.constantFrom("$comm", ...p.strings.map((f) => `args.${f}`));
}

function leaf(p: Probe) {
  return fc.oneof(
    fc.tuple(intOperand(p), compareOp, literal).map(([a, op, b]) => `${a} ${op} ${b}`),
    fc.tuple(intOperand(p), compareOp, intOperand(p)).map(([a, op, b]) => `${a} ${op} ${b}`),
    fc
      .tuple(stringOperand(p), fc.constantFrom("==", "!="), word)
      .map(([a, op, w]) => `${a} ${op} "${w}"`),
    fc
      .tuple(stringOperand(p), fc.constantFrom("==", "!="), stringOperand(p))
      .map(([a, op, b]) => `${a} ${op} ${b}`),
  );
}

function filter(p: Probe): fc.Arbitrary<string> {
  const { tree } = fc.letrec<{ tree: string }>((tie) => ({
    tree: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      leaf(p),
      fc
        .tuple(tie("tree"), fc.constantFrom("&&", "||"), tie("tree"))
        .map(([a, op, b]) => `(${a}) ${op} (${b})`),
      tie("tree").map((a) => `!(${a})`),
    ),
  }));
  return tree;
}

function keyPart(p: Probe, kind: "int" | "str") {
  return kind === "int"
    ? intOperand(p)
    : fc.constantFrom("$comm", ...p.comms.map((f) => `args.${f}`));
}

function side(p: Probe, shape: ("int" | "str")[]) {
  return fc
    .tuple(fc.tuple(...shape.map((k) => keyPart(p, k))), fc.option(filter(p), { nil: undefined }))
    .map(([key, where]) => `${p.name}(${key.join(", ")})${where ? ` where ${where}` : ""}`);
}

const duration = fc.constantFrom("1ns", "10us", "5ms", "1s", "2000s");

const tracker = fc
  .record({
    begin: fc.constantFrom(...probes),
    end: fc.constantFrom(...probes),
    shape: fc.array(fc.constantFrom<"int" | "str">("int", "str"), { minLength: 1, maxLength: 2 }),
  })
  .chain(({ begin, end, shape }) =>
    fc.record({
      begin: side(begin, shape),
      end: side(end, shape),
      threshold: fc.option(duration, { nil: undefined }),
      timeout: fc.option(duration, { nil: undefined }),
      keep: fc.constantFrom("first", "last"),
      capacity: fc.integer({ min: 1, max: 100000 }),
      stack: fc.boolean(),
    }),
  )
  .map(
    (t) =>
      `track random: ${t.begin} -> ${t.end}` +
      (t.threshold ? ` > ${t.threshold}` : "") +
      (t.timeout ? ` timeout ${t.timeout}` : "") +
      ` keep ${t.keep} capacity ${t.capacity}` +
      (t.stack ? " then print, stack" : ""),
  );

/**
 * `btf`: the task context read through BTF offsets (what live sessions do), else helpers;
 * `table`: the set-associative ARRAY pending table (the default) or the HASH map.
 */
function loadsCleanly(source: string, btf: boolean, table: "set-associative" | "hash"): void {
  const plan = compileText(source).trackers[0];
  const object = generateTracker(plan, 0, { task: btf ? kernelTaskOffsets() : null, table });
  const fds = new Map<string, number>();
  try {
    for (const m of [ringbufSpec(4096), ...object.maps]) fds.set(m.ref, createMap(m));
    for (const p of object.programs) {
      try {
        closeFd(loadTracepointProgram(p, fds));
      } catch (error) {
        if (error instanceof LiveLoadError) assert.unreachable(`${source}\n${error.message}`);
        throw error;
      }
    }
  } finally {
    for (const fd of fds.values()) closeFd(fd);
  }
}

test("50 random trackers over real tracepoints pass the verifier", () => {
  fc.assert(
    fc.property(tracker, fc.boolean(), fc.constantFrom("set-associative", "hash"), loadsCleanly),
    {
      numRuns: Number(process.env.LTSH_PROPERTY_RUNS ?? 50),
    },
  );
});

const skip = kernelSkipReason();
if (skip !== null) reportSkip("kernel/live-verifier", skip);
else test.run();
