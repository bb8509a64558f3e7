// Kernel test of `ltsh record`'s IRQ_WAKE_THREAD copies (src/commands/record-irq-copy.ts),
// the path of kernels without tracefs's `fields` option, on this host, which has it: so the
// copies can be checked against `fields`. Root and tracefs needed; skips and says why.
// This host has no threaded IRQ to trigger, so the live matching is tested on copies of
// the IRQ_HANDLED exits (filter ret == 1) of the disk's real IRQs: every one must find its
// exit in the main buffer, as the IRQ_WAKE_THREAD copies do on the RT guest (test/vm).

import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { IrqExitCopies } from "../../src/commands/record-irq-copy.ts";
import { readIrqReturns } from "../../src/commands/record-irq-return.ts";
import { findTracefs, TracefsInstance } from "../../src/kernel/tracefs.ts";
import { readTrace } from "../../src/replay/reader.ts";
import { reportSkip } from "../kernel/support.ts";
import { recorderSkipReason, recordForFile } from "./record-run.ts";

/** Direct synchronous writes: the disk's completion IRQs come now. */
const diskWrites = (dir: string, count: number) => [
  "sh",
  "-c",
  `dd if=/dev/zero of=${join(dir, "io")} bs=4k count=${count} oflag=direct,sync 2>/dev/null`,
];

test("copies of real IRQ exits each find their exit in the main buffer, as `fields` numbers them", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ltsh-irq-copy-"));
  const main = TracefsInstance.create({ purpose: "test", bufferKiB: 4096, overwrite: false });
  let copies: IrqExitCopies | null = null;
  try {
    main.enableEvents([
      "irq:irq_handler_entry",
      "irq:irq_handler_exit",
      "sched:sched_waking",
      "sched:sched_switch",
    ]);
    copies = IrqExitCopies.create(256, [{ ret: 1, purpose: "irqtest" }]);
    assert.ok(
      readdirSync(join(main.root, "instances")).includes(`ltsh-${process.pid}-irqtest`),
      "the copy instance is named for stale-instance removal",
    );
    copies.resume();
    main.resume();
    spawnSync(diskWrites(dir, 200)[0], diskWrites(dir, 200).slice(1));
    main.freeze();
    copies.freeze();
    const exits = await copies.match(main);
    const handled = exits.filter((e) => e.printed === "handled");
    assert.ok(handled.length >= 20, `disk IRQs while recording: ${handled.length}`);
    assert.equal(
      handled.filter((e) => e.copy !== 1).map((e) => `${e.head}${e.copy}`),
      [],
      "every IRQ_HANDLED exit matched by its copy",
    );
    assert.ok(
      exits.every((e) => e.printed === "handled" || e.copy === "none"),
      "no unhandled exit matched",
    );
    if (main.hasOption("fields")) {
      const numbers = await readIrqReturns(main);
      assert.equal(
        numbers?.map((r) => `${r.head}${r.ret}`),
        exits.map((e) => `${e.head}${e.printed === "handled" ? 1 : 0}`),
      );
    }
  } finally {
    copies?.remove();
    main.remove();
    rmSync(dir, { recursive: true, force: true });
  }
  assert.not.ok(
    readdirSync(join(findTracefs(), "instances")).includes(`ltsh-${process.pid}-irqtest`),
    "the copy instance is removed",
  );
});

test("ltsh record through the copies (LTSH_RECORD_IRQ_COPIES=1): every irq_handler_exit ret a number", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ltsh-record-"));
  const out = join(dir, "trace.txt");
  // While recording: which instances exist, then the disk's IRQs.
  const shell = `ls ${join(findTracefs(), "instances")} > ${join(dir, "instances")}; ${diskWrites(dir, 16)[2]}`;
  const result = recordForFile(out, "examples/chains/lo.lt", shell, {
    LTSH_RECORD_IRQ_COPIES: "1",
  });
  assert.is(result.status, 0, result.stderr);
  assert.not.match(result.stderr, /warning/);
  const rets: string[] = [];
  await readTrace({ path: out }, (e) => {
    if (e.name === "irq_handler_exit") rets.push(/ret=(\S*)/.exec(e.payload)?.[1] ?? e.payload);
  });
  assert.ok(rets.length > 0, "a hard IRQ happened while recording");
  assert.equal(
    rets.filter((ret) => !/^\d+$/.test(ret)),
    [],
    "every ret a number, none handled/unhandled",
  );
  assert.ok(rets.includes("1"), `IRQ_HANDLED among ${rets.join(" ")}`);
  const pid = result.pid;
  const during = readFileSync(join(dir, "instances"), "utf8").split("\n");
  for (const copy of ["irqwake", "irqnone"]) {
    assert.ok(during.includes(`ltsh-${pid}-${copy}`), `the copies recorded: ${during.join(" ")}`);
  }
  assert.equal(
    readdirSync(join(findTracefs(), "instances")).filter((n) => n.startsWith(`ltsh-${pid}-`)),
    [],
    "both instances removed",
  );
  rmSync(dir, { recursive: true, force: true });
});

const reason = recorderSkipReason();
if (reason !== null) reportSkip("replay/record-irq-copy", reason);
else test.run();
