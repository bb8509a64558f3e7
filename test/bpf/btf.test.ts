// The BTF reader finds task_struct's pid, tgid and comm offsets, skipping other types by
// their kind's size, and gives up (null: helpers are used instead) on anything else.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseTaskOffsets } from "../../src/compiler/bpf/btf.ts";

/** A BTF blob: an INT, a FUNC_PROTO with one param, then struct task_struct {pid; tgid; comm}. */
function blob(structName = "task_struct"): Uint8Array {
  const names = ["", "int", structName, "pid", "tgid", "comm"];
  const offsets: number[] = [];
  let strings = "";
  for (const n of names) {
    offsets.push(strings.length);
    strings += `${n}\0`;
  }
  const words: number[] = [];
  const type = (name: number, kind: number, vlen: number, sizeOrType: number) =>
    words.push(offsets[name], (kind << 24) | vlen, sizeOrType);
  type(1, 1, 0, 4); // INT
  words.push(32); // its encoding word
  type(0, 13, 1, 1); // FUNC_PROTO returning int, one param
  words.push(0, 1); // the param
  type(2, 4, 3, 2048); // STRUCT task_struct, 3 members
  words.push(offsets[3], 1, 1264 * 8, offsets[4], 1, 1268 * 8, offsets[5], 1, 1752 * 8);
  const types = new Uint8Array(Uint32Array.from(words).buffer);
  const str = new TextEncoder().encode(strings);
  const header = new DataView(new ArrayBuffer(24));
  header.setUint16(0, 0xeb9f, true);
  header.setUint8(2, 1);
  header.setUint32(4, 24, true);
  header.setUint32(8, 0, true);
  header.setUint32(12, types.length, true);
  header.setUint32(16, types.length, true);
  header.setUint32(20, str.length, true);
  const out = new Uint8Array(24 + types.length + str.length);
  out.set(new Uint8Array(header.buffer), 0);
  out.set(types, 24);
  out.set(str, 24 + types.length);
  return out;
}

test("task_struct's member offsets come out in bytes", () => {
  assert.equal(parseTaskOffsets(blob()), { comm: 1752, pid: 1264, tgid: 1268 });
});

test("no task_struct, or not BTF at all: null", () => {
  assert.is(parseTaskOffsets(blob("mm_struct")), null);
  assert.is(parseTaskOffsets(new TextEncoder().encode("not btf at all, just text here")), null);
});

test.run();
