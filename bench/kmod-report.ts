// The `## kmod` section of BENCHMARKS.md from what bench/kmod.ts measured in the guest: best
// and median ns per round trip of each configuration, and with a peer checkout the ratio
// this / peer of each run's pair (taken within the run, so the host's load hits both alike).

/** This checkout's modules or the peer checkout's (`--baseline`). */
export type Side = "this" | "peer";

export interface Measured {
  /** ns per round trip by configuration (base, syscall, wakeup), side and run index. */
  ns: Record<string, Record<Side, number[]>>;
  /** Events the syscall module saw per round (2 per syscall: enter and exit), per run. */
  syscallEventsPerRound: Record<Side, number[]>;
}

/** One boot of the guest: what it measured and the host around it. */
export interface Boot {
  measured: Measured;
  runs: number;
  /** Load average (1 min) before the boot and after it. */
  load: [number, number];
  minutes: number;
}

export interface RunFacts {
  accel: string;
  release: string;
  commit: string;
  /** The peer's short commit; null without --baseline. */
  peer: string | null;
  rounds: number;
  /** The host's CPU model and count. */
  host: string;
  /** Guest time from the host's clock. */
  clock: Boot;
  /** Guest time counted from executed guest instructions (-icount, TCG only). */
  counted: Boot | null;
}

const LABELS: Record<string, string> = {
  syscall: "examples/syscall.lt (raw_syscalls sys_enter/exit)",
  wakeup: "examples/wakeup.lt (sched_wakeup/sched_switch)",
};

/** The configurations measured, in LABELS' order, `EXAMPLE@peer` after its example. */
function configs(m: Measured): string[] {
  return Object.keys(LABELS).flatMap((e) => [e, `${e}@peer`].filter((c) => m.ns[c]));
}

/** A configuration's name in the table: `EXAMPLE@peer` is the peer's text, built by both. */
function label(config: string, f: RunFacts): string {
  const [example, peer] = config.split("@");
  return peer ? `examples/${example}.lt as at ${f.peer}, the same work` : LABELS[example];
}

function sorted(values: number[]): number[] {
  return values.filter((v) => v !== undefined).sort((a, b) => a - b);
}

function median(values: number[]): number {
  const s = sorted(values);
  return s[Math.floor(s.length / 2)];
}

/** The least disturbed run: the host's other work only ever adds time. */
function best(values: number[]): number {
  return sorted(values)[0];
}

/**
 * Each run's this / peer, where both sides measured: the median and its 95% confidence
 * interval from the order statistics (no assumption on the noise's shape: the ranks
 * n/2 ± 0.98·√n bound the median of the runs' ratios 19 times in 20).
 */
export function runRatios(bySide: Record<Side, number[]>): {
  n: number;
  mid: number;
  lo: number;
  hi: number;
} {
  const ratios = sorted(
    bySide.this.flatMap((ns, run) => (bySide.peer[run] ? [ns / bySide.peer[run]] : [])),
  );
  const n = ratios.length;
  const half = 0.98 * Math.sqrt(n);
  return {
    n,
    mid: ratios[Math.floor(n / 2)],
    lo: ratios[Math.max(0, Math.floor(n / 2 - half))],
    hi: ratios[Math.min(n - 1, Math.ceil(n / 2 + half) - 1)],
  };
}

/** A Markdown table padded the way biome formats one (so `biome check` passes). */
function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(3, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => `| ${cells.map((x, c) => x.padEnd(widths[c])).join(" | ")} |`;
  return [line(rows[0]), line(widths.map((w) => "-".repeat(w))), ...rows.slice(1).map(line)];
}

/** ns of the host's clock, or of the instruction-counted clock (-icount). */
type Unit = "ns" | "icount ns";

/** best: the least disturbed run (host clock); median: every run alike (icount). */
function tableRows(m: Measured, f: RunFacts, unit: Unit): string[][] {
  const pick = unit === "ns" ? best : median;
  const base = pick(m.ns.base.this);
  const sides: Side[] = f.peer ? ["this", "peer"] : ["this"];
  const rows = [
    [
      "configuration",
      ...(f.peer ? ["module"] : []),
      unit === "ns" ? "best ns per round trip" : "icount ns per round trip",
      ...(unit === "ns" ? ["median"] : []),
      unit === "ns" ? "added (best)" : "added",
      ...(f.peer ? ["this / peer, per run: median (95% CI)"] : []),
    ],
  ];
  const cells = (ns: number[]) => [`${pick(ns)}`, ...(unit === "ns" ? [`${median(ns)}`] : [])];
  rows.push(["no module", ...(f.peer ? [""] : []), ...cells(m.ns.base.this), "", ""]);
  for (const example of configs(m)) {
    for (const side of sides) {
      const ns = m.ns[example][side];
      const r = runRatios(m.ns[example]);
      const added = pick(ns) - base;
      const digits = unit === "ns" ? 3 : 4;
      rows.push([
        side === "this" ? label(example, f) : "",
        ...(f.peer ? [side === "this" ? `this (${f.commit})` : `peer (${f.peer})`] : []),
        ...cells(ns),
        `${added} (${((added / base) * 100).toFixed(1)}%)`,
        side === "this" && f.peer
          ? `${r.mid.toFixed(digits)} (${r.lo.toFixed(digits)}–${r.hi.toFixed(digits)})`
          : "",
      ]);
    }
  }
  return rows.map((r) => r.slice(0, rows[0].length));
}

/** Fewer runs than this leave the median without a 95% interval (2 / 2^6 < 5%). */
const MIN_RUNS = 6;

/** Per example: how this commit compares with the peer, and whether beyond the noise. */
function verdicts(m: Measured, f: RunFacts, unit: Unit): string[] {
  const base = median(m.ns.base.this);
  return configs(m).map((example) => {
    const r = runRatios(m.ns[example]);
    const added = (side: Side) => median(m.ns[example][side]) - base;
    const call =
      r.n < MIN_RUNS
        ? `too few runs to tell from noise (fewer than ${MIN_RUNS})`
        : r.lo > 1
          ? "costlier beyond noise (the 95% interval of the median is above 1)"
          : r.hi < 1
            ? "cheaper beyond noise (the 95% interval of the median is below 1)"
            : "the same within noise (the 95% interval of the median spans 1)";
    return (
      `- ${example.includes("@") ? label(example, f) : `examples/${example}.lt`}: ` +
      `${f.commit} / ${f.peer} = ${r.mid.toFixed(3)}, ${call}; ` +
      `the module adds ${added("this")} ${unit} per round trip against ${added("peer")} (medians).`
    );
  });
}

/** The syscall module's events per round trip, and what each adds (best runs). */
function perEvent(m: Measured, side: Side): { events: number; cost: number } {
  const events = median(m.syscallEventsPerRound[side]);
  return { events, cost: (best(m.ns.syscall[side]) - best(m.ns.base.this)) / events };
}

/** `text` in lines of at most 96 columns, broken at spaces. */
function wrap(text: string): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.replace(/ ([:;.,])/g, "$1").split(/\s+/)) {
    if (line && line.length + 1 + word.length > 96) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return line ? [...lines, line] : lines;
}

function bootFacts(b: Boot): string {
  const load = `load average ${b.load[0].toFixed(1)} before, ${b.load[1].toFixed(1)} after`;
  return `${b.runs} runs, ${b.minutes.toFixed(1)} min, ${load}`;
}

function perEventLine(m: Measured, f: RunFacts, unit: string): string {
  const ours = perEvent(m, "this");
  const peer = f.peer ? ` (the peer: ${Math.round(perEvent(m, "peer").cost)})` : "";
  return `about **${Math.round(ours.cost)} ${unit} per event**${peer}`;
}

/** The whole `## kmod` section. */
export function section(f: RunFacts): string {
  const clock = f.clock.measured;
  const counted = f.counted?.measured;
  const intro = [
    `Measured by \`bench/kmod.ts\` on ${new Date().toISOString().slice(0, 10)} at ${f.commit}`,
    f.peer
      ? `with \`--baseline\` against the peer checkout at ${f.peer} (its modules built from its own sources by its own \`ltsh compile --target kmod\`, loaded in the same guest boots as this commit's):`
      : ":",
    `inside Debian's ${f.release} kernel under QEMU (${f.accel}, 1 vCPU, 512 MiB) on the host`,
    `(${f.host}, shared with other work), a static pipe ping-pong of`,
    `${f.rounds} round trips per run (\`ltwork pipe\`), runs alternating untraced / with each module`,
    "(thresholds set out of reach through the module parameter, so no hits: the cost of the",
    "events alone)",
    f.peer
      ? "; each example's module from this commit and from the peer one after the other, which of the two goes first swapping from run to run."
      : ".",
    "Each round trip is 2 writes + 2 reads (4 syscalls, 2 wakeups, 2+ context switches).",
    `The syscall module saw ${perEvent(clock, "this").events.toFixed(1)} events per round trip`,
    "(enter + exit of each syscall, from its stats).",
  ].join(" ");
  return [
    "## kmod",
    "",
    ...wrap(intro),
    "",
    ...wrap(
      `**Host clock** (${bootFacts(f.clock)}): the guest's clock follows the host's, so the ` +
        "host's other work only ever adds time: best run first, then the median.",
    ),
    "",
    ...table(tableRows(clock, f, "ns")),
    "",
    ...(f.peer ? [...verdicts(clock, f, "ns").flatMap(wrap), ""] : []),
    ...wrap(
      `The kmod path costs ${perEventLine(clock, f, "ns")} here (begin: key, context, ` +
        "lock-free insert; end: lookup, removal, histogram).",
    ),
    ...(f.accel === "tcg"
      ? [
          "Under TCG every guest instruction is emulated: the same untraced ping-pong takes about",
          "7 µs per round trip natively on this host, 10x less, and the figures above are inflated",
          "by about as much. Compare the ratios to the untraced run (not the absolute ns) with the",
          "`## live` eBPF figures measured natively on the host. Where kvm_intel or kvm_amd is",
          "loaded the harness boots with KVM instead and the figures are near native.",
        ]
      : ["Under KVM the guest runs near native speed: compare with the `## live` eBPF figures."]),
    "",
    ...(counted && f.counted
      ? [
          ...wrap(
            `**Instruction-counted clock** (a second boot under \`-icount shift=0\`, ${bootFacts(f.counted)}): ` +
              "guest time advances 1 ns per executed guest instruction, so the host's load cannot " +
              "touch it and the runs of one boot agree within 0.1%: the cost of the code itself, " +
              "without the caches and atomics of real hardware. The figures repeat from boot to " +
              "boot at the same settings but not across rounds per run: compare the ratios.",
          ),
          "",
          ...table(tableRows(counted, f, "icount ns")),
          "",
          ...(f.peer ? [...verdicts(counted, f, "icount ns").flatMap(wrap), ""] : []),
          ...wrap(`The kmod path takes ${perEventLine(counted, f, "icount ns")}.`),
          "",
        ]
      : []),
  ].join("\n");
}
