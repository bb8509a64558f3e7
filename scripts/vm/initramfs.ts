// Builds the guest of the VM tests: a busybox initramfs holding the virtio drivers of the
// Debian kernel, the modules under test, the static workload and reader programs from
// ./guest/, and an /init that runs a given shell script and powers off.

import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildCpio, type CpioEntry } from "./cpio.ts";

const GUEST_DIR = fileURLToPath(new URL("./guest/", import.meta.url));
export const GUEST_PROGRAMS = ["ltwork", "ltread"] as const;

/** Drivers for the virtual disk, in load order (Debian builds them as modules). */
const VIRTIO_MODULES: string[] = [
  "drivers/virtio/virtio_ring.ko",
  "drivers/virtio/virtio.ko",
  "drivers/virtio/virtio_pci_legacy_dev.ko",
  "drivers/virtio/virtio_pci_modern_dev.ko",
  "drivers/virtio/virtio_pci.ko",
  "drivers/block/virtio_blk.ko",
];

/** virtio-9p, to mount host directories (BootOptions.shares), in load order. */
export const NINEP_MODULES: string[] = [
  "fs/netfs/netfs.ko",
  "fs/fscache/fscache.ko",
  "net/9p/9pnet.ko",
  "net/9p/9pnet_virtio.ko",
  "fs/9p/9p.ko",
];

export interface GuestKernel {
  release: string;
  vmlinuz: string;
  /** Headers to build modules against (/usr/src/linux-headers-RELEASE). */
  headers: string;
  modulesDir: string;
}

/**
 * Debian's kernel whose image and headers are both installed, or a reason there is none.
 * "generic": linux-image-amd64's flavour; "rt": linux-image-rt-amd64's (PREEMPT_RT).
 */
export function findGuestKernel(flavour: "generic" | "rt" = "generic"): GuestKernel | string {
  if (!existsSync("/boot")) return "no /boot";
  const rt = flavour === "rt";
  const images = execFileSync("ls", ["/boot"], { encoding: "utf8" })
    .split("\n")
    .filter((f) => /^vmlinuz-.*-amd64$/.test(f) && f.endsWith("-rt-amd64") === rt)
    .sort();
  for (const image of images.reverse()) {
    const release = image.replace(/^vmlinuz-/, "");
    const headers = `/usr/src/linux-headers-${release}`;
    const modulesDir = `/lib/modules/${release}`;
    if (existsSync(join(headers, "Makefile")) && existsSync(modulesDir)) {
      return { release, vmlinuz: `/boot/${image}`, headers, modulesDir };
    }
  }
  const packages = rt
    ? "linux-image-rt-amd64 linux-headers-rt-amd64"
    : "linux-image-amd64 linux-headers-amd64";
  return `no Debian ${rt ? "PREEMPT_RT " : ""}kernel with matching headers (apt-get install ${packages})`;
}

function newer(target: string, source: string): boolean {
  return existsSync(target) && statSync(target).mtimeMs >= statSync(source).mtimeMs;
}

/** Compiles the static guest programs into `cacheDir` (once per source change). */
export function buildGuestPrograms(cacheDir: string): Record<string, string> {
  mkdirSync(cacheDir, { recursive: true });
  const paths: Record<string, string> = {};
  for (const name of GUEST_PROGRAMS) {
    const source = join(GUEST_DIR, `${name}.c`);
    const binary = join(cacheDir, name);
    if (!newer(binary, source)) {
      execFileSync("gcc", ["-static", "-O2", "-Wall", "-Werror", "-o", binary, source], {
        stdio: ["ignore", "ignore", "pipe"],
      });
    }
    paths[name] = binary;
  }
  return paths;
}

export interface InitramfsSpec {
  kernel: GuestKernel;
  /** Kernel modules under test: copied to /lib/ltsh/NAME.ko. */
  modules: string[];
  /** More of the kernel's own modules (paths under kernel/), loaded after virtio. */
  kernelModules?: string[];
  /** Static programs: copied to /bin. */
  programs: Record<string, string>;
  /** Shell commands run by /init after boot, before power-off. */
  script: string;
}

/** The /init: mounts, loopback, virtio drivers, the script, power-off (always). */
function initScript(script: string, drivers: string[]): string {
  const virtio = drivers.map((m) => basename(m, ".ko")).join(" ");
  return `#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
ifconfig lo 127.0.0.1 up
for m in ${virtio}; do insmod /lib/virtio/$m.ko || echo "@@ltsh virtio-failed $m"; done
echo "@@ltsh boot-ok $(uname -r) cpus=$(grep -c ^processor /proc/cpuinfo)"
(
${script}
)
echo "@@ltsh done"
poweroff -f
`;
}

export function buildInitramfs(spec: InitramfsSpec): Buffer {
  const entries: CpioEntry[] = [];
  for (const dir of ["bin", "dev", "proc", "sys", "tmp", "lib", "lib/virtio", "lib/ltsh", "etc"]) {
    entries.push({ kind: "dir", path: dir });
  }
  entries.push({ kind: "chardev", path: "dev/console", major: 5, minor: 1 });
  entries.push({ kind: "chardev", path: "dev/null", major: 1, minor: 3, mode: 0o666 });
  entries.push({ kind: "file", path: "bin/busybox", data: readFileSync("/bin/busybox") });
  const drivers = [...VIRTIO_MODULES, ...(spec.kernelModules ?? [])];
  for (const m of drivers) {
    const data = readFileSync(join(spec.kernel.modulesDir, "kernel", m));
    entries.push({ kind: "file", path: `lib/virtio/${basename(m)}`, data, mode: 0o644 });
  }
  for (const m of spec.modules) {
    entries.push({
      kind: "file",
      path: `lib/ltsh/${basename(m)}`,
      data: readFileSync(m),
      mode: 0o644,
    });
  }
  for (const [name, path] of Object.entries(spec.programs)) {
    entries.push({ kind: "file", path: `bin/${name}`, data: readFileSync(path) });
  }
  entries.push({ kind: "file", path: "init", data: Buffer.from(initScript(spec.script, drivers)) });
  return buildCpio(entries);
}
