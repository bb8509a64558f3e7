// `ltsh run --target kmod` on user-space probes in a guest (the PREEMPT_RT one, rt.ts): a
// program of three trackers on the static USDT workload (a cross-thread cookie pair, a
// semaphore-guarded probe, a uprobe with a str() filter and its uretprobe), its modules
// prebuilt into the guest's build cache; ltsh, from the host's checkout over virtio-9p,
// inserts them, the workload runs once they are in, and the NDJSON must hold exactly the
// workload's pairs and keys, with every module removed at the end.

import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Report } from "./module-check.ts";
import { prebuildSessionModules } from "./prebuild.ts";
import { SLOT_BYTES } from "./session.ts";
import { buildStaticWorkload } from "./uprobes.ts";

const N = 10;
const MODULES = ["lt_cookie", "lt_guarded", "lt_greet"];
/** A ceiling for a hang: ltsh's start-up from its sources under TCG takes minutes. */
const RUN_LIMIT_S = 600;

export interface UprobeSession {
  /** Host directories the guest must see at the same paths (workload and program). */
  shares: string[];
  /** Guest lines, after sessionScript()'s (they define mark and waitmod). */
  script(repo: string, fromSources: boolean, cacheHome: string, slot: number): string;
  check(console: string, disk: Buffer, slot: number, report: Report): void;
}

function program(binary: string): string {
  return `track cookie: usdt:${binary}:work__begin(arg0) -> usdt:${binary}:work__end(arg0) > 1ns
track guarded: usdt:${binary}:guarded(arg0) -> usdt:${binary}:tick(arg0) > 1ns
track greet: uprobe:${binary}:lt_greet($tid) where str(arg0) == "ltsh"
    -> uretprobe:${binary}:lt_greet($tid) where retval == 4 > 1ns
`;
}

/** The workload, the program and its prebuilt modules; a string says why not. */
export async function prepareUprobeSession(
  work: string,
  release: string,
  cacheHome: string,
): Promise<UprobeSession | string> {
  let binary: string;
  try {
    binary = buildStaticWorkload(join(work, "guest"));
  } catch (error) {
    return `cannot build the static USDT workload: ${(error as Error).message}`;
  }
  const file = join(dirname(binary), "uprobes-session.lt");
  writeFileSync(file, program(binary));
  const prebuilt = await prebuildSessionModules(release, cacheHome, file);
  if (prebuilt !== null) return prebuilt;
  return {
    shares: [dirname(binary)],
    script: (repo, fromSources, cache, slot) =>
      script(repo, fromSources, cache, slot, file, binary),
    check,
  };
}

function script(
  repo: string,
  fromSources: boolean,
  cacheHome: string,
  slot: number,
  file: string,
  binary: string,
): string {
  const env = [...(fromSources ? ["LTSH_NO_BUNDLE=1"] : []), `XDG_CACHE_HOME=${cacheHome}`];
  const exports = env.map((e) => `export ${e} && `).join("");
  const command = `cd ${repo} && ${exports}exec node bin/ltsh.js run ${file} --target kmod --for 20s --json`;
  const waits = MODULES.map((m) => `waitmod ${m} $L`).join(" && ");
  return [
    "{",
    '  mark "session uprobes start"',
    `  timeout -s KILL ${RUN_LIMIT_S} inhost sh -c '${command}' >/out/uprobes.out 2>/out/uprobes.err &`,
    "  L=$!",
    `  ${waits} && mark "session uprobes loaded" && inhost ${binary} ${N} > /out/uprobes.work`,
    '  wait $L; mark "session uprobes exit rc=$?"',
    `  for m in ${MODULES.join(" ")}; do grep -q "^$m " /proc/modules && echo "@@ltsh uprobes left $m"; done`,
    '  echo "@@ltsh uprobes work $(cat /out/uprobes.work)"',
    '  echo "@@ltsh session uprobes bytes=$(wc -c < /out/uprobes.out)"',
    `  dd if=/out/uprobes.out of=/dev/vda bs=1M seek=${(slot * SLOT_BYTES) >> 20} conv=notrunc,fsync 2>/dev/null`,
    '  sed "s/^/@@ltsh session uprobes stderr /" /out/uprobes.err',
    "}",
  ].join("\n");
}

/** The fields of an NDJSON hit or summary this check reads. */
interface NdjsonRecord {
  type: string;
  tracker: string;
  pairs?: number;
  key?: number[];
  begin?: { tid: number };
  end?: { tid: number } | null;
}

function check(console: string, disk: Buffer, slot: number, report: Report): void {
  const bytes = Number(/^@@ltsh session uprobes bytes=(\d+)$/m.exec(console)?.[1] ?? 0);
  const stdout = disk.subarray(slot * SLOT_BYTES, slot * SLOT_BYTES + bytes).toString();
  const records: NdjsonRecord[] = [];
  for (const line of stdout.split("\n").filter((l) => l !== "")) {
    try {
      records.push(JSON.parse(line));
    } catch {
      records.push({ type: "garbage", tracker: line.slice(0, 80) });
    }
  }
  const pairs = Object.fromEntries(
    records.filter((r) => r.type === "summary").map((r) => [r.tracker, r.pairs]),
  );
  const cookies = records.filter((r) => r.type === "hit" && r.tracker === "cookie");
  const keys = cookies.map((r) => r.key?.[0]).sort((a, b) => (a ?? 0) - (b ?? 0));
  const exit = /^@@ltsh t=\S+ session uprobes exit rc=(\d+)/m.exec(console)?.[1];
  const left = [...console.matchAll(/^@@ltsh uprobes (left .*)$/gm)].map((m) => m[1]);
  const stderr = [...console.matchAll(/^@@ltsh session uprobes stderr (.*)$/gm)].map((m) => m[1]);
  const work = /^@@ltsh uprobes work (.*)$/m.exec(console)?.[1] ?? "";
  const expected = { cookie: N, guarded: N, greet: N };
  const wantKeys = Array.from({ length: N }, (_, k) => 0xc0de01 + k);
  const problems = [
    ...(exit === "0" ? [] : [`exit ${exit}`, ...stderr.slice(-10)]),
    ...left,
    ...records.filter((r) => r.type === "garbage").map((r) => `not JSON: ${r.tracker}`),
    ...(work.includes("enabled=1") ? [] : [`the workload's semaphore was not raised: ${work}`]),
  ];
  report(
    problems.length === 0,
    `guest: ltsh run uprobes-session.lt --target kmod (modules from the cache): exit ${exit}, modules removed, semaphore raised`,
    problems,
  );
  const crossThread = cookies.every((r) => r.end && r.begin && r.end.tid !== r.begin.tid);
  const ok =
    JSON.stringify(pairs) === JSON.stringify(expected) &&
    JSON.stringify(keys) === JSON.stringify(wantKeys) &&
    crossThread;
  report(
    ok,
    `guest: its summaries' pairs are the workload's ${JSON.stringify(expected)}, cookie keys and threads too`,
    ok ? [] : [`pairs ${JSON.stringify(pairs)}`, `cookie keys ${keys.join(" ")}`],
  );
}
