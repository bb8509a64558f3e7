// Builders give the expected instruction fields; the encoder's tricky cases (the two-slot
// 64-bit immediate, negative offsets, map fds) match golden bytes; labels fail loudly.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { AssemblyError, assemble, encode, mapReferences } from "../../src/compiler/bpf/asm.ts";
import { formatInsn } from "../../src/compiler/bpf/disasm.ts";
import { Helper } from "../../src/compiler/bpf/helpers.ts";
import {
  Add,
  call,
  exit,
  JEq,
  JGT,
  JNE32,
  JSLT,
  ja,
  ldImm64,
  ldMapFd,
  loadMem,
  Mov,
  neg,
  R0,
  R1,
  R2,
  R3,
  R6,
  R10,
  Sub,
  storeImm,
  storeMem,
} from "../../src/compiler/bpf/insn.ts";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

const table: [string, ReturnType<typeof Mov.imm>, Partial<ReturnType<typeof Mov.imm>>, string][] = [
  ["Add.imm", Add.imm(R1, 22), { opcode: 0x07, dst: 1, imm: 22 }, "r1 += 0x16"],
  ["Add.reg", Add.reg(R1, R2), { opcode: 0x0f, dst: 1, src: 2 }, "r1 += r2"],
  ["Add.imm32", Add.imm32(R1, 1), { opcode: 0x04, dst: 1, imm: 1 }, "w1 += 0x1"],
  ["Sub.reg", Sub.reg(R3, R1), { opcode: 0x1f, dst: 3, src: 1 }, "r3 -= r1"],
  ["Mov.imm", Mov.imm(R0, -1), { opcode: 0xb7, dst: 0, imm: -1 }, "r0 = -0x1"],
  ["Mov.reg", Mov.reg(R6, R1), { opcode: 0xbf, dst: 6, src: 1 }, "r6 = r1"],
  ["neg", neg(R2), { opcode: 0x87, dst: 2 }, "r2 = -r2"],
  [
    "JGT.reg",
    JGT.reg(R3, R2, "out"),
    { opcode: 0x2d, dst: 3, src: 2, target: "out" },
    "if r3 > r2 goto +0 <out>",
  ],
  [
    "JSLT.imm",
    JSLT.imm(R1, 100, "out"),
    { opcode: 0xc5, dst: 1, imm: 100 },
    "if r1 s< 0x64 goto +0 <out>",
  ],
  [
    "JNE32.imm",
    JNE32.imm(R1, 0x68736162, "x"),
    { opcode: 0x56, imm: 0x68736162 },
    "if w1 != 0x68736162 goto +0 <x>",
  ],
  [
    "loadMem u32",
    loadMem(R1, R6, 24, 4),
    { opcode: 0x61, dst: 1, src: 6, offset: 24 },
    "r1 = *(u32 *)(r6 +24)",
  ],
  ["loadMem u8", loadMem(R1, R6, 9, 1), { opcode: 0x71, offset: 9 }, "r1 = *(u8 *)(r6 +9)"],
  [
    "storeMem u64",
    storeMem(R10, -8, R1, 8),
    { opcode: 0x7b, dst: 10, src: 1, offset: -8 },
    "*(u64 *)(r10 -8) = r1",
  ],
  [
    "storeImm u32",
    storeImm(R10, -16, 0, 4),
    { opcode: 0x62, dst: 10, offset: -16, imm: 0 },
    "*(u32 *)(r10 -16) = 0x0",
  ],
  ["call", call(Helper.ktime_get_ns), { opcode: 0x85, imm: 5 }, "call ktime_get_ns#5"],
  ["exit", exit(), { opcode: 0x95 }, "exit"],
  [
    "ldMapFd",
    ldMapFd(R1, "pending"),
    { opcode: 0x18, src: 1, mapRef: "pending" },
    "r1 = map[pending] ll",
  ],
];

for (const [name, insn, fields, text] of table) {
  test(`builder ${name}`, () => {
    for (const [k, v] of Object.entries(fields)) {
      assert.equal((insn as unknown as Record<string, unknown>)[k], v, `${name}.${k}`);
    }
    assert.is(formatInsn(insn), text);
  });
}

test("ld_imm64 takes two slots: low half, then a zero opcode slot with the high half", () => {
  const program = assemble([ldImm64(R1, 0x1122334455667788n), exit()]);
  assert.is(program.slotCount, 3);
  assert.is(hex(encode(program)), "18010000887766550000000044332211" + "9500000000000000");
});

test("ld_imm64 of a negative value keeps both halves' bits", () => {
  assert.is(hex(encode(assemble([ldImm64(R2, -2n)]))), "18020000feffffff00000000ffffffff");
});

test("negative offsets and immediates are two's complement, little-endian", () => {
  assert.is(hex(encode(assemble([storeMem(R10, -8, R1, 8)]))), "7b1af8ff00000000");
  assert.is(hex(encode(assemble([Add.imm(R2, -16)]))), "07020000f0ffffff");
});

test("a map reference is patched with its fd and marked BPF_PSEUDO_MAP_FD", () => {
  const program = assemble([ldMapFd(R1, "pending"), exit()]);
  assert.equal(mapReferences(program.insns), ["pending"]);
  assert.is(
    hex(encode(program, new Map([["pending", 7]]))).slice(0, 32),
    "18110000070000000000000000000000",
  );
  assert.throws(() => encode(program, new Map()), /no fd for map 'pending'/);
});

test("labels resolve forwards and backwards, counting ld_imm64 as two slots", () => {
  const program = assemble([
    { ...Mov.imm(R0, 0), labels: ["top"] },
    JEq.imm(R0, 0, "out"),
    ldImm64(R1, 1n),
    ja("top"),
    { ...exit(), labels: ["out"] },
  ]);
  assert.equal(
    program.insns.map((i) => i.offset),
    [0, 3, 0, -5, 0],
  );
  assert.equal(program.slots, [0, 1, 2, 4, 5]);
});

test("a jump to a missing label and a duplicate label are errors", () => {
  assert.throws(
    () => assemble([ja("nowhere"), exit()]),
    (e: Error) => e instanceof AssemblyError && /missing label 'nowhere'/.test(e.message),
  );
  assert.throws(
    () =>
      assemble([
        { ...exit(), labels: ["x"] },
        { ...exit(), labels: ["x"] },
      ]),
    /duplicate label 'x'/,
  );
});

test.run();
