// A writer for the cpio "newc" archive format the kernel unpacks as an initramfs.
// Written here (instead of calling cpio(1)) so that device nodes need no root privileges.

import { gzipSync } from "node:zlib";

export type CpioEntry =
  | { kind: "dir"; path: string; mode?: number }
  | { kind: "file"; path: string; data: Buffer; mode?: number }
  | { kind: "symlink"; path: string; target: string }
  | { kind: "chardev"; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

function hex8(value: number): string {
  return value.toString(16).padStart(8, "0");
}

function pad4(length: number): Buffer {
  return Buffer.alloc((4 - (length % 4)) % 4);
}

function record(ino: number, mode: number, data: Buffer, name: string, rdev = [0, 0]): Buffer[] {
  const nameBytes = Buffer.from(`${name}\0`);
  const fields = [ino, mode, 0, 0, 1, 0, data.length, 0, 0, rdev[0], rdev[1], nameBytes.length, 0];
  const header = Buffer.from(`070701${fields.map(hex8).join("")}`);
  return [header, nameBytes, pad4(header.length + nameBytes.length), data, pad4(data.length)];
}

/** The archive, gzip-compressed; paths are relative to the root ("bin/busybox"). */
export function buildCpio(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  for (const entry of entries) {
    const name = entry.path.replace(/^\/+/, "");
    switch (entry.kind) {
      case "dir":
        parts.push(...record(ino++, S_IFDIR | (entry.mode ?? 0o755), Buffer.alloc(0), name));
        break;
      case "file":
        parts.push(...record(ino++, S_IFREG | (entry.mode ?? 0o755), entry.data, name));
        break;
      case "symlink":
        parts.push(...record(ino++, S_IFLNK | 0o777, Buffer.from(entry.target), name));
        break;
      case "chardev":
        parts.push(
          ...record(ino++, S_IFCHR | (entry.mode ?? 0o600), Buffer.alloc(0), name, [
            entry.major,
            entry.minor,
          ]),
        );
        break;
    }
  }
  parts.push(...record(0, 0, Buffer.alloc(0), "TRAILER!!!"));
  return gzipSync(Buffer.concat(parts), { level: 6 });
}
