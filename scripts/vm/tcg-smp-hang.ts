// Reproduces, without any ltsh code, why the kmod guests run on one vCPU: under QEMU's TCG
// (7.2 here) with -smp 2, switching the sched tracepoints on and off through tracefs, beside
// a sleeping and a pipe workload, hangs the guest within a few rounds. The soft-lockup report
// shows CPU 0 in text_poke_bp → smp_call_function_many_cond (the static call of the tracepoint
// being patched) and CPU 1 looping in exc_int3 at the patched site in __schedule, its clock
// stopped: the emulated CPU keeps executing the breakpoint the patch has already replaced.
//   node --import tsx scripts/vm/tcg-smp-hang.ts [ROUNDS] [CPUS]   (prints where the guest stopped)

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildGuestPrograms, buildInitramfs, findGuestKernel } from "./initramfs.ts";
import { bootVm } from "./qemu.ts";

const rounds = Number(process.argv[2] ?? 100);
const cpus = Number(process.argv[3] ?? 2);
const kernel = findGuestKernel();
if (typeof kernel === "string") {
  process.stderr.write(`${kernel}\n`);
  process.exit(1);
}
const events = "/sys/kernel/tracing/events/sched";
const script = [
  "mount -t tracefs nodev /sys/kernel/tracing",
  "ltwork sleep 1000000 200000 >/dev/null & S=$!",
  "( while :; do ltwork pipe 300 >/dev/null; done ) & P=$!",
  `i=0; while [ $i -lt ${rounds} ]; do i=$((i+1)); echo "@@round $i"`,
  `  for e in sched_wakeup sched_switch; do echo 1 > ${events}/$e/enable; done; sleep 0.3`,
  `  for e in sched_wakeup sched_switch; do echo 0 > ${events}/$e/enable; done`,
  "done",
  "kill $P $S",
].join("\n");
const work = mkdtempSync(join(tmpdir(), "ltsh-tcg-hang-"));
const initrd = buildInitramfs({ kernel, modules: [], programs: buildGuestPrograms(work), script });
rmSync(work, { recursive: true, force: true });
const boot = await bootVm({
  vmlinuz: kernel.vmlinuz,
  initrd,
  memoryMiB: 1024,
  cpus,
  append: "softlockup_all_cpu_backtrace=1 watchdog_thresh=5",
  timeoutMs: 60_000 + rounds * 3_000,
});
const lines = boot.console.split("\n");
const last = lines.filter((l) => l.startsWith("@@round")).pop() ?? "no round started";
// The first report: where each CPU was (kernel RIPs, the patching and the breakpoint frames).
const first = lines.findIndex((l) => l.includes("soft lockup"));
const report = first < 0 ? [] : lines.slice(first, first + 200);
const lockup = [
  ...report.slice(0, 1),
  ...new Set(report.filter((l) => /RIP: 0010|text_poke_bp|exc_int3/.test(l))),
];
process.stdout.write(
  `${boot.accel}, ${cpus} vCPU(s): ${boot.completed ? `all ${rounds} rounds ran` : `stopped at ${last}`} (${(boot.elapsedMs / 1000).toFixed(0)} s)\n${lockup.slice(0, 10).join("\n")}\n`,
);
process.exit(boot.completed ? 0 : 1);
