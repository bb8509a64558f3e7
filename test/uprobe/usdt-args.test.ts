// The USDT argument parser on every form x86-64 compilers write, and on bad input (errors
// are values with a message, never a throw).

import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  describeUsdtArgument,
  parseUsdtArgument,
  parseUsdtArguments,
  type UsdtLocation,
} from "../../src/compiler/uprobe/usdt-args.ts";

/** A compact reading of a parsed location: "const 5", "reg eax@80/4", "mem ...". */
function show(location: UsdtLocation): string {
  if (location.kind === "constant") return `const ${location.value}`;
  if (location.kind === "register") {
    const r = location.register;
    return `reg ${r.name}@${r.ptRegsOffset}/${r.width}${r.bitOffset ? `+${r.bitOffset}` : ""}`;
  }
  const parts = [
    location.base ? `base=${location.base.name}@${location.base.ptRegsOffset}` : "",
    location.index ? `index=${location.index.name}*${location.scale}` : "",
    location.symbol ? `sym=${location.symbol}` : "",
    `disp=${location.displacement}`,
  ];
  return `mem ${parts.filter(Boolean).join(" ")}`;
}

const cases: [string, number, boolean, string][] = [
  ["4@$5", 4, false, "const 5"],
  ["-4@$-1", 4, true, "const -1"],
  ["8@$0x10", 8, false, "const 16"],
  ["-4@%eax", 4, true, "reg eax@80/4"],
  ["8@%r12", 8, false, "reg r12@24/8"],
  ["-8@%rax", 8, true, "reg rax@80/8"],
  ["1@%al", 1, false, "reg al@80/1"],
  ["1@%ah", 1, false, "reg ah@80/1+8"],
  ["2@%si", 2, false, "reg si@104/2"],
  ["-1@%dil", 1, true, "reg dil@112/1"],
  ["-1@%sil", 1, true, "reg sil@104/1"],
  ["-4@%r8d", 4, true, "reg r8d@72/4"],
  ["-2@%r8w", 2, true, "reg r8w@72/2"],
  ["1@%r8b", 1, false, "reg r8b@72/1"],
  ["-2@%r9w", 2, true, "reg r9w@64/2"],
  ["1@%r10b", 1, false, "reg r10b@56/1"],
  ["8@%r15", 8, false, "reg r15@0/8"],
  ["8@%rsp", 8, false, "reg rsp@152/8"],
  ["4@%ebp", 4, false, "reg ebp@32/4"],
  ["-4@-20(%rbp)", 4, true, "mem base=rbp@32 disp=-20"],
  ["-8@8(%rsp)", 8, true, "mem base=rsp@152 disp=8"],
  ["-4@(%rdi)", 4, true, "mem base=rdi@112 disp=0"],
  ["-4@40+Symbol(%rip)", 4, true, "mem base=rip@128 sym=Symbol disp=40"],
  ["8@Symbol(%rip)", 8, false, "mem base=rip@128 sym=Symbol disp=0"],
  ["-4@lt_table+48(%rip)", 4, true, "mem base=rip@128 sym=lt_table disp=48"],
  ["4@counter.1-8(%rip)", 4, false, "mem base=rip@128 sym=counter.1 disp=-8"],
  ["8@(%rax,%rbx,8)", 8, false, "mem base=rax@80 index=rbx*8 disp=0"],
  ["-4@16(%rdx,%rcx,4)", 4, true, "mem base=rdx@96 index=rcx*4 disp=16"],
  ["-4@(%rax,%r12,4)", 4, true, "mem base=rax@80 index=r12*4 disp=0"],
  ["-4@(,%rcx,4)", 4, true, "mem index=rcx*4 disp=0"],
  ["-4@lt_table(,%rax,4)", 4, true, "mem index=rax*4 sym=lt_table disp=0"],
  ["4@(%rsi,%rdi)", 4, false, "mem base=rsi@104 index=rdi*1 disp=0"],
  ["8@lt_wide", 8, false, "mem sym=lt_wide disp=0"],
  ["8@0x601040", 8, false, "mem disp=6295616"],
  ["%eax", 4, false, "reg eax@80/4"],
];

for (const [text, size, signed, location] of cases) {
  test(`${text} decodes to size ${size}, ${signed ? "signed" : "unsigned"}, ${location}`, () => {
    const parsed = parseUsdtArgument(text);
    if (!parsed.ok) assert.unreachable(parsed.message);
    else {
      assert.is(parsed.value.size, size);
      assert.is(parsed.value.signed, signed);
      assert.is(show(parsed.value.location), location);
      assert.is(parsed.value.text, text);
    }
  });
}

const errors: [string, RegExp][] = [
  ["-4@%xyz", /unknown register '%xyz'/],
  ["3@%eax", /size 3 \(1, 2, 4 or 8\)/],
  ["4@$abc", /'\$abc' is not an integer constant/],
  ["4@8(%rax,%rbx,3)", /scale '3' is not 1, 2, 4 or 8/],
  ["4@8(%rax", /unrecognised operand/],
  ["4@a+b(%rip)", /unrecognised displacement 'a\+b'/],
  ["4@()", /no register/],
  ["4@", /cannot decode/],
];

for (const [text, message] of errors) {
  test(`'${text}' is an error value: ${message.source}`, () => {
    const parsed = parseUsdtArgument(text);
    assert.is(parsed.ok, false);
    if (!parsed.ok) assert.match(parsed.message, message);
  });
}

test("a whole argument string decodes in order; an error names the argument", () => {
  const parsed = parseUsdtArguments("1@%al -2@%si  -1@%dil -4@%r8d");
  assert.ok(parsed.ok);
  if (parsed.ok)
    assert.equal(
      parsed.value.map((a) => a.text),
      ["1@%al", "-2@%si", "-1@%dil", "-4@%r8d"],
    );
  const bad = parseUsdtArguments("4@$5 -4@%bogus");
  assert.equal(bad, {
    ok: false,
    message: "arg1: cannot decode USDT argument '-4@%bogus': unknown register '%bogus'",
  });
  assert.equal(parseUsdtArguments(""), { ok: true, value: [] });
});

test("listings describe an argument's type and place", () => {
  const describe = (text: string) => {
    const parsed = parseUsdtArgument(text);
    return parsed.ok ? describeUsdtArgument(parsed.value) : parsed.message;
  };
  assert.is(describe("-4@$-1"), "s32 constant -1");
  assert.is(describe("1@%al"), "u8 in %al");
  assert.is(describe("-8@8+lt_wide(%rip)"), "s64 at 8+lt_wide(%rip)");
});

test.run();
