// uprobe_events fetch arguments derived from USDT arguments (the kernel suite checks the
// values they read against the workload's; this one pins the spelling).

import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  functionArgFetch,
  RETVAL_FETCH,
  usdtFetchArg,
} from "../../src/compiler/uprobe/fetch-args.ts";
import { parseUsdtArgument } from "../../src/compiler/uprobe/usdt-args.ts";

/** A probe at 0x1400 in a segment mapped 0x1000 above its file offset; lt_table at 0x4020. */
const context = {
  probeAddress: 0x1400,
  probeFileOffset: 0x400,
  symbolAddress: (name: string) => (name === "lt_table" ? 0x4020 : undefined),
};

function fetch(text: string): string {
  const parsed = parseUsdtArgument(text);
  if (!parsed.ok) return parsed.message;
  const result = usdtFetchArg(parsed.value, context);
  return result.ok ? result.value : `error: ${result.message}`;
}

const cases: [string, string][] = [
  ["4@$5", "\\0x5:u32"],
  ["-4@$-1", "\\0xffffffff:s32"],
  ["-4@%eax", "%ax:s32"],
  ["8@%r12", "%r12:u64"],
  ["1@%al", "%ax:u8"],
  ["1@%ah", "%ax:b8@8/64"],
  ["-1@%dil", "%di:s8"],
  ["-2@%r9w", "%r9:s16"],
  ["-4@-20(%rbp)", "-20(%bp):s32"],
  ["-8@8(%rsp)", "+8(%sp):s64"],
  ["-4@(%rdi)", "+0(%di):s32"],
  // 0x4020 + 40, relative to where the probe's file is mapped (0x1400 - 0x400).
  ["-4@40+lt_table(%rip)", `@+${0x4020 + 40 - 0x1000}:s32`],
  ["-4@lt_table+48(%rip)", `@+${0x4020 + 48 - 0x1000}:s32`],
  ["8@lt_table", `@+${0x4020 - 0x1000}:u64`],
  [
    "8@(%rax,%rbx,8)",
    "error: '8@(%rax,%rbx,8)' uses an index register, which uprobe_events cannot read",
  ],
  ["-4@missing(%rip)", "error: '-4@missing(%rip)': no symbol 'missing'"],
  ["-4@8(%rip)", "error: '-4@8(%rip)': %rip-relative without a symbol"],
];

for (const [text, expected] of cases) {
  test(`${text} → ${expected}`, () => {
    assert.is(fetch(text), expected);
  });
}

test("function arguments follow the SysV registers; only six of them", () => {
  assert.equal(
    [0, 1, 2, 3, 4, 5].map((i) => functionArgFetch(i)),
    ["%di:u64", "%si:u64", "%dx:u64", "%cx:u64", "%r8:u64", "%r9:u64"].map((value) => ({
      ok: true,
      value,
    })),
  );
  assert.equal(functionArgFetch(6), {
    ok: false,
    message: "arg6: only arg0 to arg5 travel in registers",
  });
  assert.is(RETVAL_FETCH, "$retval:u64");
});

test.run();
