// Lets the guest run the host's own userspace (Node, gcc, make, kmod, the checkout): the
// host directories it needs are shared read-only over virtio-9p and mounted into a tmpfs
// root, with fresh /proc, /sys, /dev and a writable /tmp and /root; the guest chroots there.

import { existsSync, lstatSync, readlinkSync } from "node:fs";

export interface HostRoot {
  /** For BootOptions.shares. */
  shares: { hostPath: string; tag: string }[];
  /** Guest shell lines: build /newroot and /bin/inhost (`inhost CMD...` runs CMD in it). */
  setup: string;
}

/** The top-level entries of a merged-/usr system that are only symlinks into /usr. */
const USR_LINKS = ["bin", "sbin", "lib", "lib64"];

function quote(text: string): string {
  return `'${text.replace(/'/g, "'\\''")}'`;
}

/**
 * `dirs`: absolute host directories to share besides /usr and /etc (e.g. Node's directory
 * and the checkout); each appears at the same path in the guest. `pathDirs` go first in PATH.
 */
export function hostRoot(dirs: string[], pathDirs: string[] = []): HostRoot {
  const searchPath = [...pathDirs, "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"];
  const paths = ["/usr", "/etc", ...dirs];
  const links: string[] = [];
  for (const name of USR_LINKS) {
    const path = `/${name}`;
    if (!existsSync(path)) continue;
    if (lstatSync(path).isSymbolicLink())
      links.push(`ln -s ${quote(readlinkSync(path))} /newroot${path}`);
    else paths.push(path);
  }
  const shares = paths.map((hostPath, i) => ({ hostPath, tag: `host${i}` }));
  const mounts = shares.map(
    (s) =>
      `mkdir -p /newroot${s.hostPath} && mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 ${s.tag} /newroot${s.hostPath} || echo "@@ltsh share-failed ${s.hostPath}"`,
  );
  const setup = [
    "mkdir -p /newroot && mount -t tmpfs -o size=1g tmpfs /newroot",
    ...links,
    ...mounts,
    "for d in proc sys dev tmp root run; do mkdir -p /newroot/$d; done",
    "mount -t proc proc /newroot/proc",
    "mount -t sysfs sysfs /newroot/sys",
    "mount -t devtmpfs devtmpfs /newroot/dev",
    "chmod 1777 /newroot/tmp",
    // A program, not a shell function: it runs under timeout(1), and its pid is the command's
    // own (chroot, env and the command exec in turn), so the caller can signal it.
    `printf '#!/bin/sh\\nexec chroot /newroot /usr/bin/env -i PATH=${searchPath.join(":")} HOME=/root TERM=dumb "$@"\\n' > /bin/inhost`,
    "chmod 755 /bin/inhost",
  ].join("\n");
  return { shares, setup };
}
