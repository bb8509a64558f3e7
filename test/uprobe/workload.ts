// Builds the user-space probe workload (test/fixtures/usdt/*.c, see workload.c for what each
// iteration does) with gcc into a temporary directory removed at exit: a PIE build, a
// non-PIE build and a stripped copy of the PIE one (dynamic symbols only: -rdynamic keeps
// its functions in .dynsym), all linked to the shared library libltshprobe.so.1 beside
// them (found through an $ORIGIN rpath). Built once per process.

import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface WorkloadBuilds {
  dir: string;
  pie: string;
  nopie: string;
  stripped: string;
  library: string;
}

const SOURCES = new URL("../fixtures/usdt/", import.meta.url).pathname;

let built: WorkloadBuilds | null = null;

/** Why the workload cannot be built here (no gcc, no sys/sdt.h), or null. */
export function workloadSkipReason(): string | null {
  const gcc = spawnSync("gcc", ["--version"], { stdio: "ignore" });
  if (gcc.error !== undefined || gcc.status !== 0) return "gcc is not installed";
  const sdt = spawnSync("gcc", ["-E", "-x", "c", "-"], {
    input: "#include <sys/sdt.h>\n",
    stdio: ["pipe", "ignore", "ignore"],
  });
  return sdt.status === 0 ? null : "sys/sdt.h is missing (apt-get install systemtap-sdt-dev)";
}

export function buildWorkload(): WorkloadBuilds {
  if (built !== null) return built;
  const dir = mkdtempSync(join(tmpdir(), "ltsh-usdt-"));
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  const gcc = (...args: string[]) => execFileSync("gcc", args, { cwd: dir, stdio: "pipe" });
  const sources = ["workload.c", "guarded.c"].map((f) => join(SOURCES, f));
  const warnings = ["-O2", "-g0", "-Wall", "-Wextra", "-Werror"];
  gcc(
    ...warnings,
    "-fPIC",
    "-shared",
    "-Wl,-soname,libltshprobe.so.1",
    join(SOURCES, "libprobe.c"),
    "-o",
    "libltshprobe.so.1",
  );
  const library = ["-L.", "-l:libltshprobe.so.1", "-Wl,-rpath,$ORIGIN"];
  const common = [...warnings, "-rdynamic", "-pthread"];
  // frame.c wants -O0 (operands in the stack frame), so it is compiled on its own.
  gcc("-O0", "-fPIE", "-c", join(SOURCES, "frame.c"), "-o", "frame-pie.o");
  gcc("-O0", "-fno-pie", "-c", join(SOURCES, "frame.c"), "-o", "frame-nopie.o");
  gcc(...common, "-fPIE", "-pie", ...sources, "frame-pie.o", ...library, "-o", "workload-pie");
  gcc(
    ...common,
    "-fno-pie",
    "-no-pie",
    ...sources,
    "frame-nopie.o",
    ...library,
    "-o",
    "workload-nopie",
  );
  copyFileSync(join(dir, "workload-pie"), join(dir, "workload-stripped"));
  execFileSync("strip", ["--strip-all", join(dir, "workload-stripped")]);
  built = {
    dir,
    pie: join(dir, "workload-pie"),
    nopie: join(dir, "workload-nopie"),
    stripped: join(dir, "workload-stripped"),
    library: join(dir, "libltshprobe.so.1"),
  };
  return built;
}

/** The values each iteration gives the probes, as workload.c's header comment states. */
export const TABLE = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150];
export const WIDE = [100, 200, 300, 400];

/** Expected arguments of each USDT probe at iteration i, as the probe's types read them. */
export function expectedArguments(i: number): Record<string, number[]> {
  const u8 = (v: number) => v & 0xff;
  const s8 = (v: number) => (u8(v) << 24) >> 24;
  const s16 = (v: number) => ((v & 0xffff) << 16) >> 16;
  return {
    constants: [5, -1],
    registers: [2 * i, -i],
    widths: [u8(i + 200), s16(-3 * i), s8(-i), 1000 * i, s16(7 * i), u8(i + 1)],
    globals: [TABLE[10], WIDE[1]],
    indexed: [TABLE[i & 15]],
    scaled: [TABLE[i & 15], WIDE[i & 3], TABLE[10]],
    frame: [3 * i, TABLE[12], i],
    guarded: [i],
    tick: [i],
    call: [i],
    work__begin: [0xc0de00 + i],
    work__end: [0xc0de00 + i],
  };
}
