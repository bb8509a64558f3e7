// A chain hit's snapshot on the timeline (fixtures/chain-snapshot.txt: examples/chains/lo.lt
// replayed with `then snapshot`: NET_RX raised by python3, its softirq waking udp-reader,
// which runs 36 us after the raise): each link is marked on its CPU at its time, and named
// under the CPU rows with its offset from the hit's begin.

import { render } from "ink-testing-library";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { formatDuration } from "../../src/records/output.ts";
import { TimelineApp } from "../../src/repl/TimelineApp.tsx";
import { loadTimeline } from "../../src/repl/timeline-model.ts";
import { plain } from "./ink-helpers.ts";

const FIXTURE = new URL("./fixtures/chain-snapshot.txt", import.meta.url).pathname;
const timeline = await loadTimeline(FIXTURE);
const chain = timeline.note?.hit.chain ?? [];

test("model: the links are the hit's stages, in timeline time", () => {
  assert.equal(
    timeline.links.map((l) => [l.stage, l.cpu]),
    chain.map((s) => [s.stage, s.cpu]),
  );
  assert.equal(
    timeline.links.map((l) => l.text),
    ["NET_RX python3", "raise NET_RX", "softirq python3", "waking udp-reader-17462", "run cpu0"],
  );
  // the origin is the hit's begin: the span starts there (the B marker sits on it)
  assert.is(timeline.links[0].ns, timeline.span?.fromNs);
  assert.is(timeline.links.at(-1)?.ns, timeline.span?.toNs, "the run is the hit's end");
});

test("frame at 100x30: each link marked on its CPU at its time, and named below", () => {
  const app = render(
    <TimelineApp timeline={timeline} onQuit={() => {}} size={{ columns: 101, rows: 31 }} />,
  );
  const frame = plain(app.lastFrame());
  const lines = frame.split("\n");
  assert.ok(lines.length <= 30, `${lines.length} rows`);
  assert.ok(Math.max(...lines.map((l) => [...l].length)) <= 100);
  assert.is(lines[0], `lo threshold hit 36us  ${chain.length - 1} links  chain-snapshot.txt`);
  const cpu0 = lines.findIndex((l) => l.startsWith("cpu0 "));
  const marks = lines[cpu0 + 1];
  const span = lines[2];
  assert.is(marks.indexOf("0"), span.indexOf("["), "the origin at the span's begin");
  assert.is(marks.indexOf("4"), span.indexOf("]"), "the run at its end");
  const order = [..."01234"].map((symbol) => marks.indexOf(symbol));
  assert.ok(
    order.every((at, i) => at > 0 && (i === 0 || at > order[i - 1])),
    `links in time order: ${marks}`,
  );
  const named = lines.slice(cpu0 + 2).join("\n");
  for (const [i, link] of timeline.links.entries()) {
    const offset = link.ns - (timeline.span?.fromNs ?? 0);
    const when = offset === 0 ? "+0" : `+${formatDuration(offset)}`;
    assert.match(named, `${i} ${link.text} ${when}`);
  }
  app.unmount();
});

test.run();
