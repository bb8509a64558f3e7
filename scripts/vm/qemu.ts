// Boots a kernel and initramfs in QEMU with the serial console captured, a scratch virtio
// disk (readable afterwards), host directories shared read-only over virtio-9p, and a hard
// timeout so that a hung guest never hangs the test. TCG unless the host really has
// hardware KVM (kvm_intel/kvm_amd loaded).

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface BootOptions {
  vmlinuz: string;
  initrd: Buffer;
  /** Size of a zeroed raw disk attached as virtio (/dev/vda in the guest); 0: none. */
  diskMiB?: number;
  /** Keep the scratch disk's contents in the result (the guest's way to hand back files). */
  readDisk?: boolean;
  /** Host directories shared read-only over virtio-9p, mounted in the guest by tag. */
  shares?: { hostPath: string; tag: string }[];
  memoryMiB?: number;
  /** 1 by default: tracepoint patching hangs TCG guests with more (tcg-smp-hang.ts). */
  cpus?: number;
  /**
   * TCG only: guest time counted in guest instructions (2^shift ns each, -icount), not read
   * from the host's clock, so that the host's other work cannot change what the guest
   * measures: for benchmarks that compare code by its cost, not for timing behaviour.
   */
  icountShift?: number;
  /** Extra kernel command-line words (e.g. debugging options). */
  append?: string;
  timeoutMs: number;
  /** Called with each chunk of console output (progress display). */
  onOutput?: (text: string) => void;
}

export interface BootResult {
  console: string;
  /** The guest reached its final "@@ltsh done" line. */
  completed: boolean;
  timedOut: boolean;
  exitCode: number | null;
  elapsedMs: number;
  accel: "kvm" | "tcg";
  /** The scratch disk after power-off, when readDisk was set. */
  disk?: Buffer;
}

export function qemuBinary(): string | null {
  const found = spawnSync("sh", ["-c", "command -v qemu-system-x86_64"], { encoding: "utf8" });
  return found.status === 0 ? found.stdout.trim() : null;
}

/** Hardware KVM only: /dev/kvm alone may be a software virtualizer that cannot boot Linux. */
export function hardwareKvm(): boolean {
  if (!existsSync("/dev/kvm") || !existsSync("/proc/modules")) return false;
  return /^kvm_(intel|amd) /m.test(readFileSync("/proc/modules", "utf8"));
}

export async function bootVm(options: BootOptions): Promise<BootResult> {
  const qemu = qemuBinary();
  if (!qemu) throw new Error("qemu-system-x86_64 not found (apt-get install qemu-system-x86)");
  const work = mkdtempSync(join(tmpdir(), "ltsh-vm-"));
  const initrd = join(work, "initrd.gz");
  writeFileSync(initrd, options.initrd);
  const accel = hardwareKvm() ? "kvm" : "tcg";
  const args = [
    "-accel",
    accel,
    ...(accel === "kvm" ? ["-cpu", "host"] : []),
    ...(accel === "tcg" && options.icountShift !== undefined
      ? ["-icount", `shift=${options.icountShift},sleep=off`]
      : []),
    "-m",
    `${options.memoryMiB ?? 512}M`,
    "-smp",
    String(options.cpus ?? 1),
    "-nographic",
    "-no-reboot",
    "-kernel",
    options.vmlinuz,
    "-initrd",
    initrd,
    "-append",
    // no_hash_pointers: a guest's tracefs recording prints %p fields (skbaddr) as
    // "(____ptrval____)" until the kernel's random pool is ready, seconds into a TCG boot
    `console=ttyS0 panic=-1 quiet no_hash_pointers${options.append ? ` ${options.append}` : ""}`,
  ];
  const disk = join(work, "disk.img");
  if ((options.diskMiB ?? 0) > 0) {
    writeFileSync(disk, Buffer.alloc(0));
    spawnSync("truncate", ["-s", `${options.diskMiB}M`, disk]);
    args.push("-drive", `file=${disk},if=virtio,format=raw`);
  }
  for (const share of options.shares ?? []) {
    // remap: the shared trees may span host file systems; keep their inode numbers apart.
    args.push(
      "-virtfs",
      `local,path=${share.hostPath},mount_tag=${share.tag},security_model=none,readonly=on,multidevs=remap`,
    );
  }
  const started = Date.now();
  const child = spawn(qemu, args, { stdio: ["ignore", "pipe", "pipe"] });
  // A host interrupted mid-boot must not leave a guest running.
  const killGuest = () => child.kill("SIGKILL");
  process.once("exit", killGuest);
  let console = "";
  let timedOut = false;
  const collect = (chunk: Buffer) => {
    const text = chunk.toString("utf8");
    console += text;
    options.onOutput?.(text);
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, options.timeoutMs);
  const exitCode = await new Promise<number | null>((resolve) => {
    child.on("close", (code) => resolve(code));
    child.on("error", () => resolve(null));
  });
  clearTimeout(timer);
  process.removeListener("exit", killGuest);
  const diskContents = options.readDisk && existsSync(disk) ? readFileSync(disk) : undefined;
  rmSync(work, { recursive: true, force: true });
  // The serial line ends lines with CRLF.
  console = console.replace(/\r/g, "");
  const completed = /^@@ltsh done$/m.test(console);
  const elapsedMs = Date.now() - started;
  return { console, completed, timedOut, exitCode, elapsedMs, accel, disk: diskContents };
}
