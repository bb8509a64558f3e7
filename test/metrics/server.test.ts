// The /metrics endpoint: [HOST]:PORT parsing, what it answers (content type, 404, 405,
// HEAD), a port in use as one clear line; and `ltsh run --metrics` flag errors.

import { spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { AddressError, parseListenAddress } from "../../src/metrics/address.ts";
import { CONTENT_TYPE } from "../../src/metrics/exposition.ts";
import { ListenError, startMetricsServer } from "../../src/metrics/server.ts";
import { LatencyStats } from "../../src/records/stats.ts";
import { BIN, EXAMPLES } from "./child.ts";
import { parseExposition, sampleValue } from "./parse.ts";

test("[HOST]:PORT: a missing host means every interface; IPv6 in brackets", () => {
  assert.equal(parseListenAddress(":9464"), { host: undefined, port: 9464 });
  assert.equal(parseListenAddress("127.0.0.1:9464"), { host: "127.0.0.1", port: 9464 });
  assert.equal(parseListenAddress("[::1]:0"), { host: "::1", port: 0 });
  assert.equal(parseListenAddress("localhost:80"), { host: "localhost", port: 80 });
  for (const bad of ["9464", "host", ":", ":65536", "::1:9464", "a b:1", ":-1", ":9464x"]) {
    assert.throws(
      () => parseListenAddress(bad),
      (e: Error) => e instanceof AddressError,
      bad,
    );
  }
});

async function listening() {
  const server = await startMetricsServer({ host: "127.0.0.1", port: 0 }, "9.9.9");
  const stats = new LatencyStats("wakeup");
  stats.recordPair(1500);
  server.setSource(() => [stats.summary()]);
  return { server, stats };
}

test("GET /metrics: the exposition of the current source, re-read at each scrape", async () => {
  const { server, stats } = await listening();
  try {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    let response = await fetch(server.url);
    assert.is(response.status, 200);
    assert.is(response.headers.get("content-type"), CONTENT_TYPE);
    let samples = parseExposition(await response.text());
    assert.is(sampleValue(samples, "ltsh_pairs_total", { tracker: "wakeup" }), 1);
    assert.is(sampleValue(samples, "ltsh_build_info", { version: "9.9.9" }), 1);
    stats.recordPair(2000);
    response = await fetch(server.url);
    samples = parseExposition(await response.text());
    assert.is(sampleValue(samples, "ltsh_pairs_total", { tracker: "wakeup" }), 2);
  } finally {
    await server.close();
  }
});

test("other paths are 404, other methods 405, HEAD has no body", async () => {
  const { server } = await listening();
  try {
    assert.is((await fetch(server.url.replace("/metrics", "/"))).status, 404);
    assert.is((await fetch(server.url, { method: "POST" })).status, 405);
    const head = await fetch(server.url, { method: "HEAD" });
    assert.is(head.status, 200);
    assert.is(await head.text(), "");
  } finally {
    await server.close();
  }
});

test("a source that throws answers 500 and the server goes on", async () => {
  const { server } = await listening();
  try {
    server.setSource(() => {
      throw new Error("map gone");
    });
    const response = await fetch(server.url);
    assert.is(response.status, 500);
    assert.match(await response.text(), /map gone/);
  } finally {
    await server.close();
  }
});

/** A port some other listener holds for the duration of `body`. */
async function withTakenPort(body: (port: number) => Promise<void> | void) {
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
  try {
    await body((holder.address() as { port: number }).port);
  } finally {
    holder.close();
  }
}

test("a port in use is a ListenError naming the address", async () => {
  await withTakenPort(async (port) => {
    try {
      await startMetricsServer({ host: "127.0.0.1", port }, "0");
      assert.unreachable("listened on a taken port");
    } catch (error) {
      assert.ok(error instanceof ListenError);
      assert.is(
        (error as Error).message,
        `cannot serve metrics on 127.0.0.1:${port}: the address is in use (another ltsh or exporter listens there; pick another port)`,
      );
    }
  });
});

const demo = `${EXAMPLES}traces/demo.txt.gz`;

function runLtsh(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8" });
}

test("ltsh run --metrics: a malformed address is a usage error (exit 2)", () => {
  const result = runLtsh(["run", `${EXAMPLES}wakeup.lt`, "--replay", demo, "--metrics", "9464"]);
  assert.is(result.status, 2);
  assert.is(
    result.stderr,
    "ltsh run: error: --metrics expects [HOST]:PORT such as :9464 or 127.0.0.1:9464, not '9464'\nTry 'ltsh run --help'.\n",
  );
});

test("ltsh run --metrics: a port in use is one line, exit 1", async () => {
  await withTakenPort((port) => {
    const args = [
      "run",
      `${EXAMPLES}wakeup.lt`,
      "--replay",
      demo,
      "--metrics",
      `127.0.0.1:${port}`,
    ];
    const result = runLtsh(args);
    assert.is(result.status, 1);
    assert.is(
      result.stderr,
      `ltsh run: error: cannot serve metrics on 127.0.0.1:${port}: the address is in use (another ltsh or exporter listens there; pick another port)\n`,
    );
    assert.is(result.stdout, "", "nothing ran");
  });
});

test("ltsh run --help documents --metrics", () => {
  assert.match(runLtsh(["run", "--help"]).stdout, /--metrics \[HOST\]:PORT/);
});

test.run();
