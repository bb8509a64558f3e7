// A real Prometheus (Debian's binary) on loopback, with a config of this test's own in a
// temporary directory, scrapes `ltsh serve` live (examples/wakeup.lt, cyclictest as the
// workload), `ltsh serve --replay` (counters frozen once the trace ends) and a chain tracker
// replayed slowly (examples/chains/lo.lt, so its segments grow while Prometheus scrapes).
// Through its HTTP API: every expression of the Grafana dashboard returns data (the
// segments' on the chain), and histogram_quantile(0.99) lies in the log2 bucket that holds
// ltsh's own p99.

import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { bucketIndex, LatencyStats } from "../../src/records/stats.ts";
import { kernelSkipReason, reportSkip } from "../kernel/support.ts";
import { BIN, EXAMPLES, type LtshChild, startLtsh } from "./child.ts";
import { dashboardQueries } from "./dashboard.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const demo = `${EXAMPLES}traces/demo.txt.gz`;
/** The loopback chain's 140 ms of trace, replayed over 47 s: scrapes see its segments grow. */
const CHAIN = [`${EXAMPLES}chains/lo.lt`, "--replay", `${EXAMPLES}chains/lo.txt.gz`];
const CHAIN_SPEED = "0.003";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** An instant query through /api/v1/query; throws on a PromQL error. */
async function query(api: string, expr: string, time?: number): Promise<VectorSample[]> {
  const params = new URLSearchParams({ query: expr });
  if (time !== undefined) params.set("time", String(time));
  const body = await (await fetch(`${api}/api/v1/query?${params}`)).json();
  if (body.status !== "success") throw new Error(`${expr}: ${body.error}`);
  return body.data.result;
}

async function until<T>(
  what: string,
  probe: () => Promise<T | null>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => null);
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

function startPrometheus(dir: string, port: number, targets: string[]): ChildProcess {
  const config = join(dir, "prometheus.yml");
  writeFileSync(
    config,
    [
      "global:",
      "  scrape_interval: 1s",
      "  evaluation_interval: 1s",
      "scrape_configs:",
      "  - job_name: ltsh",
      "    static_configs:",
      `      - targets: [${targets.map((t) => JSON.stringify(t)).join(", ")}]`,
      "",
    ].join("\n"),
  );
  return spawn(
    "prometheus",
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
}

/** Prometheus' own log (warnings and errors only), read so that its pipe never fills. */
function logOf(child: ChildProcess): { text: string } {
  const log = { text: "" };
  child.stderr!.on("data", (d) => (log.text += d));
  return log;
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

/** The log2 bucket [lower, upper] (seconds) holding `seconds`, as the records layer files it. */
function bucketOf(seconds: number): [number, number] {
  const upper = 2 ** bucketIndex(seconds * 1e9);
  return [upper / 2e9, upper / 1e9];
}

/** histogram_quantile(0.99) of one tracker on one instance, cumulative (not a rate). */
async function prometheusP99(api: string, instance: string, time: number): Promise<number> {
  const expr = `histogram_quantile(0.99, ltsh_latency_seconds_bucket{instance="${instance}", tracker="wakeup"})`;
  const [sample] = await query(api, expr, time);
  return Number(sample.value[1]);
}

const skip = kernelSkipReason();
if (skip) reportSkip("Prometheus scraping ltsh serve", skip);
else if (spawnSync("prometheus", ["--version"]).error) {
  test("Prometheus is installed (Debian package prometheus)", () => assert.unreachable());
} else {
  test("Prometheus scrapes ltsh serve: the dashboard's queries and the p99", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltsh-prometheus-"));
    const servers: LtshChild[] = [];
    const processes: ChildProcess[] = [];
    try {
      const workload = spawn("cyclictest", ["-q", "-t1", "-i", "500", "-D", "60"], {
        stdio: "ignore",
      });
      processes.push(workload);
      const metrics = ["--metrics", "127.0.0.1:0"];
      const live = startLtsh(["serve", `${EXAMPLES}wakeup.lt`, ...metrics]);
      const replay = startLtsh(["serve", `${EXAMPLES}wakeup.lt`, "--replay", demo, ...metrics]);
      const chain = startLtsh(["serve", ...CHAIN, "--speed", CHAIN_SPEED, ...metrics]);
      servers.push(live, replay, chain);
      const liveTarget = new URL(await live.metricsUrl()).host;
      const replayTarget = new URL(await replay.metricsUrl()).host;
      const chainTarget = new URL(await chain.metricsUrl()).host;
      await replay.waitForStderr(/the trace has ended/);

      const port = await freePort();
      const prometheus = startPrometheus(dir, port, [liveTarget, replayTarget, chainTarget]);
      processes.push(prometheus);
      const log = logOf(prometheus);
      const api = `http://127.0.0.1:${port}`;
      const ready = async () => ((await fetch(`${api}/-/ready`)).ok ? true : null);
      await until("Prometheus ready", ready).catch((error) => {
        throw new Error(`${error.message}; its log:\n${log.text}`);
      });
      // rate() over 10s needs two samples of each series: wait for a few scrapes.
      await until("five scrapes of every target", async () => {
        const counts = await query(api, "count_over_time(ltsh_build_info[30s])");
        return counts.length === 3 && counts.every((s) => Number(s.value[1]) >= 5) ? true : null;
      });
      // The chain's datagrams are spread over its slowed replay: wait for scrapes to see one.
      const growing = `sum(rate(ltsh_segment_latency_seconds_count{instance="${chainTarget}"}[10s]))`;
      await until(
        "the chain's segments growing between scrapes",
        async () => (Number((await query(api, growing))[0]?.value[1]) > 0 ? true : null),
        60_000,
      );

      // The dashboard's variables: Grafana's label_values() is the label values API.
      const labelValues = async (label: string, match: string) => {
        const params = new URLSearchParams({ "match[]": match });
        return (await (await fetch(`${api}/api/v1/label/${label}/values?${params}`)).json()).data;
      };
      assert.equal(
        (await labelValues("instance", "ltsh_build_info")).sort(),
        [liveTarget, replayTarget, chainTarget].sort(),
      );
      assert.equal(await labelValues("tracker", `ltsh_pairs_total{instance=~"${liveTarget}"}`), [
        "wakeup",
      ]);

      for (const { panel, expr } of dashboardQueries("10s")) {
        const result = await query(api, expr);
        assert.ok(result.length > 0, `${panel}: no data for ${expr}`);
        const numbers = result.filter((s) => !Number.isNaN(Number(s.value[1])));
        assert.ok(numbers.length > 0, `${panel}: only NaN for ${expr}`);
        // Live trackers are not chains: the segments' data comes from the chain replay.
        const from = expr.includes("ltsh_segment_")
          ? numbers.some((s) => s.metric.tracker === "lo")
          : result.some((s) => s.metric.instance === undefined || s.metric.instance === liveTarget);
        assert.ok(from, `${panel}: ${expr}`);
      }
      const [segmentP99] = await query(
        api,
        `histogram_quantile(0.99, sum by (le, segment) (rate(ltsh_segment_latency_seconds_bucket{instance="${chainTarget}", tracker="lo"}[10s])))`,
      );
      assert.is(segmentP99.metric.segment, "softirq_raise->sched_switch");
      assert.ok(Number(segmentP99.value[1]) > 0, "a segment's p99 while the chain replays");

      // Live: ltsh's own p99 (LatencyStats over the buckets Prometheus stored) and
      // histogram_quantile at the same instant.
      const now = Date.now() / 1000;
      const buckets = await query(
        api,
        `ltsh_latency_seconds_bucket{instance="${liveTarget}", tracker="wakeup"}`,
        now,
      );
      const stats = new LatencyStats("wakeup");
      const cumulative = buckets
        .filter((b) => b.metric.le !== "+Inf")
        .map((b) => [Number(b.metric.le), Number(b.value[1])])
        .sort((a, b) => a[0] - b[0]);
      cumulative.forEach(([le, count], i) => {
        stats.addBucket(bucketIndex(le * 1e9), count - (i > 0 ? cumulative[i - 1][1] : 0));
      });
      const liveP99 = await prometheusP99(api, liveTarget, now);
      const [lower, upper] = bucketOf(stats.percentile(0.99)! / 1e9);
      assert.ok(
        liveP99 > lower && liveP99 <= upper,
        `live: ${liveP99}s not in (${lower}, ${upper}]`,
      );

      // Replay: the counters are frozen, so ltsh's NDJSON summary of the same trace is the
      // p99 of exactly the histogram Prometheus holds.
      const run = spawnSync(
        process.execPath,
        [BIN, "run", `${EXAMPLES}wakeup.lt`, "--replay", demo, "--json"],
        {
          encoding: "utf8",
        },
      );
      const summary = JSON.parse(run.stdout.trim().split("\n").at(-1)!);
      assert.is(summary.type, "summary");
      const replayP99 = await prometheusP99(api, replayTarget, Date.now() / 1000);
      const [low, high] = bucketOf(summary.p99_ns / 1e9);
      assert.ok(
        replayP99 > low && replayP99 <= high,
        `replay: ${replayP99}s not in (${low}, ${high}]`,
      );
    } finally {
      for (const ltsh of servers) await ltsh.kill();
      for (const child of processes) await stopProcess(child);
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test.run();
