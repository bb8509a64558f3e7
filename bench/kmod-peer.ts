// The peer's modules for `bench/kmod.ts --baseline DIR`: DIR is another checkout (an earlier
// landing, with its own node_modules), and its modules come from its own sources: its
// `ltsh compile --target kmod` writes each example's C and Kbuild over its kmod-runtime, then
// Kbuild builds them against the guest kernel's headers as this checkout's are built.

import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runMake } from "../test/vm/build.ts";

/** One of the peer's modules, its .ko renamed so that it sits beside this checkout's. */
export interface PeerModule {
  /** The module's name in the kernel (lt_syscall): what rmmod and /proc/ltsh_NAME take. */
  name: string;
  /** The .ko to put in the guest, named peer_NAME.ko. */
  ko: string;
}

/**
 * The peer's text of examples/EXAMPLE.lt when it differs from this checkout's (`root`), else
 * null: measured a second time as the same work on both sides.
 */
export function changedPeerExample(peerDir: string, root: string, example: string): string | null {
  const theirs = readFileSync(join(peerDir, "examples", `${example}.lt`), "utf8");
  return theirs === readFileSync(join(root, "examples", `${example}.lt`), "utf8") ? null : theirs;
}

/** The peer's short commit, for the table. */
export function peerCommit(dir: string): string {
  return execFileSync("git", ["-C", dir, "rev-parse", "--short", "HEAD"], {
    encoding: "utf8",
  }).trim();
}

/**
 * Builds `examples/EXAMPLE` of the peer checkout `dir` with the peer's own CLI (sources run
 * through tsx: LTSH_NO_BUNDLE leaves the peer's bundle cache alone) into `outRoot`.
 */
export async function buildPeerModule(
  dir: string,
  example: string,
  outRoot: string,
  headers: string,
): Promise<PeerModule> {
  const out = join(outRoot, example.replace(/\.lt$/, ""));
  const said = execFileSync(
    process.execPath,
    [
      join(dir, "bin/ltsh.js"),
      "compile",
      join(dir, "examples", example),
      "--target",
      "kmod",
      "-o",
      out,
    ],
    { cwd: dir, encoding: "utf8", env: { ...process.env, LTSH_NO_BUNDLE: "1" } },
  );
  // "wrote lt_syscall to DIR (12 files)": the module's name, as the peer's generator chose it.
  const name = /^wrote (\S+) to /m.exec(said)?.[1];
  if (!name) throw new Error(`the peer's ltsh compile said no module name:\n${said}`);
  const problem = await runMake(out, headers);
  if (problem) throw new Error(`the peer's ${example}: ${problem}`);
  const renamed = join(outRoot, "ko");
  mkdirSync(renamed, { recursive: true });
  const ko = join(renamed, `peer_${name}.ko`);
  copyFileSync(join(out, `${name}.ko`), ko);
  return { name, ko };
}
