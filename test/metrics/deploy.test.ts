// deploy/: the systemd unit passes systemd-analyze verify, scores "OK" in its offline
// security analysis, and ltsh serve runs with exactly its capabilities; the Prometheus
// config passes promtool; the dashboard has its variables and panels, and every one of its
// expressions is valid PromQL.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { kernelSkipReason, reportSkip } from "../kernel/support.ts";
import { BIN, EXAMPLES, scrape, startLtsh } from "./child.ts";
import { DEPLOY, dashboardQueries, readDashboard } from "./dashboard.ts";
import { parseExposition, sampleValue } from "./parse.ts";

const unit = readFileSync(`${DEPLOY}ltsh.service`, "utf8");

/** The unit as shipped, its binary pointed at one that exists here (verify checks it). */
function unitHere(dir: string): string {
  const path = join(dir, "ltsh.service");
  writeFileSync(path, unit.replaceAll("/usr/local/bin/ltsh", process.execPath));
  return path;
}

function inTempDir<T>(body: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "ltsh-deploy-"));
  try {
    return body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("systemd-analyze verify accepts the unit", () => {
  inTempDir((dir) => {
    const result = spawnSync("systemd-analyze", ["verify", unitHere(dir)], { encoding: "utf8" });
    assert.not.ok(result.error, "systemd-analyze is installed (Debian package systemd)");
    assert.is(result.status, 0, result.stderr);
    assert.is(result.stderr, "", "no warning either");
  });
});

test("the unit's offline security analysis says OK", () => {
  inTempDir((dir) => {
    const args = ["security", "--offline=true", "--no-pager", unitHere(dir)];
    const result = spawnSync("systemd-analyze", args, { encoding: "utf8" });
    const m = /Overall exposure level for ltsh\.service: ([\d.]+) (\w+)/.exec(result.stdout);
    assert.ok(m, result.stdout + result.stderr);
    assert.ok(Number(m![1]) <= 3, `exposure ${m![1]}`);
    assert.is(m![2], "OK");
  });
});

test("the unit keeps CAP_BPF and CAP_PERFMON only, on a read-only system with a private /tmp", () => {
  const setting = (name: string) => new RegExp(`^${name}=(.*)$`, "m").exec(unit)?.[1];
  assert.is(setting("CapabilityBoundingSet"), "CAP_BPF CAP_PERFMON");
  assert.is(setting("NoNewPrivileges"), "yes");
  assert.is(setting("ProtectSystem"), "strict");
  assert.is(setting("PrivateTmp"), "yes");
  assert.is(setting("ReadWritePaths"), "-/sys/kernel/tracing");
  assert.match(setting("ExecStart")!, /^\/usr\/local\/bin\/ltsh serve /);
  assert.is(setting("ExecReload"), "/bin/kill -HUP $MAINPID");
});

const skip = kernelSkipReason();
if (skip) reportSkip("ltsh serve with the unit's capabilities", skip);
else {
  test("ltsh serve traces live with the unit's capabilities and nothing else", async () => {
    const caps = /^CapabilityBoundingSet=(.*)$/m
      .exec(unit)![1]
      .split(" ")
      .map((c) => `+${c.replace(/^CAP_/, "").toLowerCase()}`);
    const setpriv = [`--bounding-set=-all,${caps.join(",")}`, "--inh-caps=-all", "--no-new-privs"];
    const args = [...setpriv, "--", process.execPath, BIN, "serve", `${EXAMPLES}wakeup.lt`];
    const ltsh = startLtsh([], process.env, "setpriv", [...args, "--metrics", "127.0.0.1:0"]);
    try {
      const url = await ltsh.metricsUrl();
      const status = readFileSync(`/proc/${ltsh.child.pid}/status`, "utf8");
      // CAP_PERFMON is bit 38, CAP_BPF bit 39: 0xc0_0000_0000.
      assert.match(status, /^CapBnd:\s+000000c000000000$/m, "the child's bounding set");
      await new Promise((resolve) => setTimeout(resolve, 700));
      const samples = parseExposition(await scrape(url));
      assert.ok(sampleValue(samples, "ltsh_pairs_total", { tracker: "wakeup" })! > 0);
      ltsh.child.kill("SIGTERM");
      assert.is(await ltsh.exited, 0, ltsh.output.stderr);
    } finally {
      await ltsh.kill();
    }
  });
}

test("promtool accepts the Prometheus scrape config", () => {
  const result = spawnSync("promtool", ["check", "config", `${DEPLOY}prometheus.yml`], {
    encoding: "utf8",
  });
  assert.is(result.status, 0, result.stdout + result.stderr);
});

test("the dashboard: instance and tracker variables, the panels the issue lists", () => {
  const dashboard = readDashboard();
  const variables = dashboard.templating.list.filter((v) => v.type === "query").map((v) => v.name);
  assert.equal(variables, ["instance", "tracker"]);
  const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)).join("\n");
  const heatmap = dashboard.panels.find((p) => p.type === "heatmap");
  assert.ok(heatmap, "a heatmap panel");
  assert.match(heatmap!.targets[0].expr, /ltsh_latency_seconds_bucket/);
  assert.is(heatmap!.targets[0].format, "heatmap");
  assert.match(exprs, /histogram_quantile\(0\.5, /);
  assert.match(exprs, /histogram_quantile\(0\.99, /);
  assert.match(exprs, /sum by \(tracker, kind\) \(rate\(ltsh_hits_total/);
  assert.match(exprs, /ltsh_dropped_total/);
  assert.match(exprs, /ltsh_missed_events_total/);
  assert.match(
    exprs,
    /histogram_quantile\(0\.99, sum by \(le, tracker, segment\) \(rate\(ltsh_segment_latency_seconds_bucket/,
    "a p99 per chain segment",
  );
  for (const p of dashboard.panels) {
    for (const t of p.targets)
      assert.match(t.expr, /instance=~"\$instance", tracker=~"\$tracker"/, p.title);
  }
});

test("every dashboard expression is valid PromQL (promtool check rules)", () => {
  inTempDir((dir) => {
    const rules = dashboardQueries().map(
      (q, i) =>
        `      - record: ltsh:dashboard_query_${i}\n        expr: ${JSON.stringify(q.expr)}`,
    );
    const path = join(dir, "rules.yml");
    writeFileSync(path, `groups:\n  - name: dashboard\n    rules:\n${rules.join("\n")}\n`);
    const result = spawnSync("promtool", ["check", "rules", path], { encoding: "utf8" });
    assert.is(result.status, 0, result.stdout + result.stderr);
    assert.match(result.stdout, new RegExp(`SUCCESS: ${rules.length} rules found`));
  });
});

test.run();
