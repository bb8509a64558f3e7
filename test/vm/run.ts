// `npm run test:vm`: every example compiled to a kernel module, built against Debian's
// headers, then inserted, exercised, read and removed in Debian's kernel under QEMU; then
// `ltsh run --target kmod` itself in that kernel (run-session.ts); beside them, the
// PREEMPT_RT guest (rt.ts). `--rt`: the PREEMPT_RT guest alone (`npm run test:vm:rt`).
// `--only A,B`: those scenarios of the generic guest alone (example names, `uprobes`:
// ./uprobes.ts, or `chain-uprobes`: ./chain-uprobes.ts, `session`: the session guest), no RT
// guest (nor session guest, unless named): for iterating on one.
// Prints one line per check and "N passed, N failed"; exits 1 on any failure, 0 with
// "skipped" only when QEMU or the kernel image/headers are missing.

import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildGuestPrograms, buildInitramfs, findGuestKernel } from "../../scripts/vm/initramfs.ts";
import { bootVm, qemuBinary } from "../../scripts/vm/qemu.ts";
import { exampleFiles } from "../corpus.ts";
import { buildModules } from "./build.ts";
import {
  CHAIN_UPROBE_MODULE,
  chainUprobeScript,
  checkChainUprobeRun,
  writeChainUprobeProgram,
} from "./chain-uprobes.ts";
import { checkModuleRun, FACTS_SCRIPT, guestFacts } from "./module-check.ts";
import { runRtTests } from "./rt.ts";
import { runSessionTests } from "./run-session.ts";
import { SCENARIOS, scenarioScript } from "./scenarios.ts";
import {
  buildStaticWorkload,
  checkUprobeRun,
  ebpfReference,
  UPROBE_MODULE,
  uprobeScript,
  writeUprobeProgram,
} from "./uprobes.ts";

const EXAMPLES = fileURLToPath(new URL("../../examples/", import.meta.url));
const PROGRAMS = fileURLToPath(new URL("./programs/", import.meta.url));
const started = Date.now();
let passed = 0;
let failed = 0;
const onlyArg = process.argv.indexOf("--only");
const only = onlyArg > 0 ? new Set(process.argv[onlyArg + 1]?.split(",")) : null;
const selected = (name: string) => only === null || only.has(name);

function report(ok: boolean, name: string, details: string[] = []): void {
  if (ok) passed++;
  else failed++;
  process.stdout.write(`${ok ? "PASS" : "FAIL"} ${name}\n`);
  for (const d of details) process.stdout.write(`     ${d.replace(/\n/g, "\n     ")}\n`);
}

/** The generic kernel's guests: every example's module, then the kmod sessions. */
async function genericTests(work: string): Promise<void> {
  const kernel = findGuestKernel();
  if (typeof kernel === "string") throw new Skipped(kernel);
  process.stdout.write(`guest kernel ${kernel.release}, headers ${kernel.headers}\n`);
  {
    const scenarios = SCENARIOS.filter((s) => selected(s.example));
    const examples = exampleFiles().filter((f) => only === null || only.has(f.slice(0, -3)));
    const programs = scenarios
      .filter((s) => s.program)
      .map((s) => join(PROGRAMS, `${s.example}.lt`));
    const chainUprobes = selected("chain-uprobes");
    const usdt = selected("uprobes") || chainUprobes ? staticWorkload(join(work, "guest")) : null;
    if (usdt && selected("uprobes")) programs.push(writeUprobeProgram(work, usdt));
    if (usdt && chainUprobes) programs.push(writeChainUprobeProgram(work, usdt));
    const { built, failed: buildFailures } = await buildModules(
      [...examples.map((f) => join(EXAMPLES, f)), ...programs],
      join(work, "modules"),
      kernel.headers,
    );
    for (const m of built)
      report(true, `build ${m.name} (${m.example.replace(/^.*\//, "")}), no warnings`);
    for (const f of buildFailures)
      report(false, `build ${f.example.replace(/^.*\//, "")}`, [f.reason]);
    process.stdout.write(`modules built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);

    const runnable = scenarios.flatMap((s) => {
      const m = built.find((b) => b.name === `lt_${s.example}`);
      return m ? [{ scenario: s, module: m }] : [];
    });
    const uprobes = built.find((b) => b.name === UPROBE_MODULE);
    const ebpf = usdt && uprobes ? await ebpfReference(uprobes.plan, usdt) : null;
    const chained = built.find((b) => b.name === CHAIN_UPROBE_MODULE);
    for (const s of scenarios) {
      if (!s.program && !examples.includes(`${s.example}.lt`))
        report(false, `example ${s.example}.lt exists`);
    }
    const script = [
      'echo "@@ltsh vda-dev $(cat /sys/block/vda/dev)"',
      ...runnable.map(({ scenario, module }) => scenarioScript(scenario, module.name)),
      ...(usdt && uprobes ? [uprobeScript(usdt)] : []),
      ...(usdt && chained ? [chainUprobeScript(chained.plan, usdt)] : []),
      ...FACTS_SCRIPT,
    ].join("\n");
    const initrd = buildInitramfs({
      kernel,
      modules: [
        ...runnable.map((r) => r.module.ko),
        ...[uprobes, chained].flatMap((m) => (m ? [m.ko] : [])),
      ],
      programs: {
        ...buildGuestPrograms(join(work, "guest")),
        ...(usdt ? { ltusdt: usdt } : {}),
      },
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
      checkModuleRun(boot, scenario, module, facts, report);
    }
    if (uprobes && ebpf) checkUprobeRun(boot.console, uprobes, ebpf, report);
    if (chained) checkChainUprobeRun(boot.console, chained, report);
    if (only === null || only.has("session")) await runSessionTests(kernel, work, report);
  }
}

class Skipped extends Error {}

/** The static USDT workload for the uprobes scenario; null (a failure) when gcc cannot. */
function staticWorkload(dir: string): string | null {
  try {
    return buildStaticWorkload(dir);
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? "";
    report(false, "build the static USDT workload (gcc, sys/sdt.h)", [stderr || String(error)]);
    return null;
  }
}

async function main(): Promise<number> {
  const work = mkdtempSync(join(tmpdir(), "ltsh-test-vm-"));
  try {
    if (!qemuBinary())
      throw new Skipped("qemu-system-x86_64 not installed (apt-get install qemu-system-x86)");
    // The two kernels' guests at once, each QEMU on a host CPU of its own (TCG runs a
    // one-vCPU guest on one thread): the generic one's session guest compiles its module
    // under TCG for minutes, and the PREEMPT_RT guest's run fits beside it. Each has its
    // own work directory (both build the guest programs).
    const rtWork = join(work, "rt");
    mkdirSync(rtWork);
    const runs = await Promise.allSettled([
      process.argv.includes("--rt") ? null : genericTests(work),
      only === null ? runRtTests(rtWork, report) : null,
    ]);
    const errors = runs.flatMap((r) => (r.status === "rejected" ? [r.reason] : []));
    const unexpected = errors.find((e) => !(e instanceof Skipped));
    if (unexpected) throw unexpected;
    if (errors.length > 0 && passed + failed === 0) throw errors[0];
    for (const e of errors) process.stdout.write(`generic guests skipped: ${e.message}\n`);
  } catch (error) {
    if (!(error instanceof Skipped)) throw error;
    process.stdout.write(`test:vm skipped: ${error.message}\n0 passed, 0 failed (skipped)\n`);
    return 0;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const total = ((Date.now() - started) / 1000).toFixed(1);
  process.stdout.write(`${passed} passed, ${failed} failed (${total} s)\n`);
  return failed > 0 ? 1 : 0;
}

process.exitCode = await main();
