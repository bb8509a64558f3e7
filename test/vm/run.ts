// `npm run test:vm`: every example compiled to a kernel module, built against Debian's
// headers, then inserted, exercised, read and removed in Debian's kernel under QEMU; then
// `ltsh run --target kmod` itself in that kernel (run-session.ts).
// Prints one line per check and "N passed, N failed"; exits 1 on any failure, 0 with
// "skipped" only when QEMU or the kernel image/headers are missing.

import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildGuestPrograms, buildInitramfs, findGuestKernel } from "../../scripts/vm/initramfs.ts";
import { bootVm, qemuBinary } from "../../scripts/vm/qemu.ts";
import { KernelSymbols } from "../../src/kernel/kallsyms.ts";
import { buildModules } from "./build.ts";
import { parseModuleRun } from "./console.ts";
import { latencySumProblems } from "./latency-sum.ts";
import { runSessionTests } from "./run-session.ts";
import { type GuestFacts, SCENARIOS, scenarioScript } from "./scenarios.ts";

const EXAMPLES = fileURLToPath(new URL("../../examples/", import.meta.url));
const started = Date.now();
let passed = 0;
let failed = 0;

function report(ok: boolean, name: string, details: string[] = []): void {
  if (ok) passed++;
  else failed++;
  process.stdout.write(`${ok ? "PASS" : "FAIL"} ${name}\n`);
  for (const d of details) process.stdout.write(`     ${d.replace(/\n/g, "\n     ")}\n`);
}

function guestFacts(console: string): GuestFacts {
  const dev = /^@@ltsh vda-dev (\d+):(\d+)$/m.exec(console);
  const virtioIrqs = [...console.matchAll(/^@@ltsh irq\s+(\d+):.*virtio/gm)].map((m) =>
    Number(m[1]),
  );
  const ksyms = [...console.matchAll(/^@@ltsh ksym (.*)$/gm)].map((m) => m[1]);
  const symbols = ksyms.length === 2 ? KernelSymbols.parse(ksyms.join("\n")) : null;
  return {
    vdaDevt: dev ? Number(dev[1]) * 2 ** 20 + Number(dev[2]) : null,
    virtioIrqs,
    symbols,
  };
}

async function main(): Promise<number> {
  const kernel = findGuestKernel();
  if (!qemuBinary() || typeof kernel === "string") {
    const why = qemuBinary()
      ? kernel
      : "qemu-system-x86_64 not installed (apt-get install qemu-system-x86)";
    process.stdout.write(`test:vm skipped: ${why}\n0 passed, 0 failed (skipped)\n`);
    return 0;
  }
  process.stdout.write(`guest kernel ${kernel.release}, headers ${kernel.headers}\n`);
  const work = mkdtempSync(join(tmpdir(), "ltsh-test-vm-"));
  try {
    const examples = readdirSync(EXAMPLES)
      .filter((f) => f.endsWith(".lt"))
      .sort();
    const { built, failed: buildFailures } = await buildModules(
      examples.map((f) => join(EXAMPLES, f)),
      join(work, "modules"),
      kernel.headers,
    );
    for (const m of built)
      report(true, `build ${m.name} (${m.example.replace(/^.*\//, "")}), no warnings`);
    for (const f of buildFailures)
      report(false, `build ${f.example.replace(/^.*\//, "")}`, [f.reason]);
    process.stdout.write(`modules built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);

    const runnable = SCENARIOS.flatMap((s) => {
      const m = built.find((b) => b.name === `lt_${s.example}`);
      return m ? [{ scenario: s, module: m }] : [];
    });
    for (const s of SCENARIOS) {
      if (!examples.includes(`${s.example}.lt`)) report(false, `example ${s.example}.lt exists`);
    }
    const script = [
      'echo "@@ltsh vda-dev $(cat /sys/block/vda/dev)"',
      ...runnable.map(({ scenario, module }) => scenarioScript(scenario, module.name)),
      "grep virtio /proc/interrupts | sed 's/^ */@@ltsh irq /'",
      // The IRQ core's function and the one after it: enough to tell whether a stack frame
      // lies in it (Debian's System.map is a stub; the real one is in the -dbg package).
      'grep -A1 " __handle_irq_event_percpu$" /proc/kallsyms | sed "s/^/@@ltsh ksym /"',
      'dmesg | grep -E "BUG|WARNING|Oops|lt_" | sed "s/^/@@ltsh dmesg /"',
    ].join("\n");
    const initrd = buildInitramfs({
      kernel,
      modules: runnable.map((r) => r.module.ko),
      programs: buildGuestPrograms(join(work, "guest")),
      script,
    });
    const boot = await bootVm({ vmlinuz: kernel.vmlinuz, initrd, diskMiB: 8, timeoutMs: 150_000 });
    const seconds = (boot.elapsedMs / 1000).toFixed(1);
    report(
      boot.completed,
      `guest ran to power-off (${boot.accel}, ${seconds} s)`,
      boot.completed
        ? []
        : [`timed out: ${boot.timedOut}`, boot.console.split("\n").slice(-25).join("\n")],
    );
    const facts = guestFacts(boot.console);
    const kernelTrouble = boot.console
      .split("\n")
      .filter((l) => /@@ltsh dmesg .*(BUG|WARNING|Oops)/.test(l));
    report(kernelTrouble.length === 0, "no BUG, WARNING or Oops in the kernel log", kernelTrouble);

    for (const { scenario, module } of runnable) {
      const run = parseModuleRun(boot.console, module.name, module.plan.trackers);
      const hits = run.phases.reduce((n, p) => n + p.hits.length, 0);
      const records = run.phases.reduce((n, p) => n + p.records, 0);
      const problems: string[] = [];
      if (run.insmod !== 0) problems.push(`insmod exit ${run.insmod}`);
      if (run.rmmod !== 0) problems.push(`rmmod exit ${run.rmmod}`);
      if (run.phases.some((p) => p.undecodable > 0)) problems.push("undecodable hit records");
      const stats = run.stats[0];
      if (!stats || stats.tracker !== scenario.example)
        problems.push(`no stats line: ${run.statsText}`);
      else if (
        records > stats.hits + stats.timeouts ||
        records < stats.hits + stats.timeouts - stats.dropped
      ) {
        // Read after the stop: the counted hits and timeouts, less those lost to a full ring.
        problems.push(
          `${records} records read for ${stats.hits} hits + ${stats.timeouts} timeouts`,
        );
      }
      const stop = new RegExp(`^@@ltsh stop ${module.name} rc=(\\d+) (\\S*)`, "m").exec(
        boot.console,
      );
      if (stop?.[1] !== "0" || stop[2] !== "Y")
        problems.push(`writing 1 to the stop parameter: ${stop?.[0] ?? "no report"}`);
      if (stats) {
        const hits = run.phases.flatMap((p) => p.hits).filter((h) => h.kind === "threshold");
        problems.push(
          ...latencySumProblems(
            stats,
            hits.map((h) => h.latency_ns),
          ),
        );
      }
      if (boot.completed) problems.push(...scenario.check(run, facts));
      const summary = stats
        ? `${records} hits read, pairs=${stats.pairs} hits=${stats.hits} timeouts=${stats.timeouts} dropped=${stats.dropped} sum_ns=${stats.sum_ns} within the histogram`
        : `${hits} hits`;
      report(problems.length === 0, `${module.name}: ${summary}`, problems);
    }
    await runSessionTests(kernel, work, report);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const total = ((Date.now() - started) / 1000).toFixed(1);
  process.stdout.write(`${passed} passed, ${failed} failed (${total} s)\n`);
  return failed > 0 ? 1 : 0;
}

process.exitCode = await main();
