// What ltsh-lami says about itself in LAMI's metadata phase: its version, and the classes of
// the tables its results phase writes, each column typed with a LAMI class (time-range,
// duration, process, cpu, ...) so that Trace Compass can link rows to its views.

import { createRequire } from "node:module";
import { basename } from "node:path";

const require = createRequire(import.meta.url);
const VERSION: string = require("../../package.json").version;

export interface ColumnDescription {
  title: string;
  class: string;
  unit?: string;
}

export interface TableClass {
  title: string;
  "column-descriptions": ColumnDescription[];
}

const column = (title: string, lamiClass: string, unit?: string): ColumnDescription =>
  unit === undefined ? { title, class: lamiClass } : { title, class: lamiClass, unit };

/** The tables of the results phase; the histogram table is inherited once per tracker. */
export const TABLE_CLASSES: Record<string, TableClass> = {
  hits: {
    title: "Hits",
    "column-descriptions": [
      column("Time range", "time-range"),
      column("Latency", "duration"),
      column("Tracker", "string"),
      column("Key", "string"),
      column("Kind", "string"),
      column("Begin process", "process"),
      column("Begin CPU", "cpu"),
      column("End process", "process"),
      column("End CPU", "cpu"),
    ],
  },
  stats: {
    title: "Latency statistics per tracker",
    "column-descriptions": [
      column("Tracker", "string"),
      column("Count", "number", "pairs"),
      column("Hits", "number", "hits"),
      column("Timeouts", "number", "timeouts"),
      column("Dropped", "number", "begins"),
      column("Minimum", "duration"),
      column("P50", "duration"),
      column("P99", "duration"),
      column("Maximum", "duration"),
    ],
  },
  histogram: {
    title: "Latency distribution",
    "column-descriptions": [column("Latency", "duration"), column("Count", "number", "pairs")],
  },
};

/** "1.2.3-rc1" → LAMI's version object. */
function versionObject(version: string) {
  const [numbers, extra = ""] = version.split(/-(.*)/s);
  const [major = 0, minor = 0, patch = 0] = numbers.split(".").map(Number);
  return { major, minor, patch, extra };
}

/** The metadata object; `program` (the .lt file) names the analysis when given. */
export function metadata(program: string | null) {
  const readme = new URL("../../README.md", import.meta.url).href;
  return {
    "mi-version": { major: 1, minor: 0 },
    version: versionObject(VERSION),
    title: program === null ? "ltsh latency trackers" : `ltsh: ${basename(program)}`,
    description:
      "Latency trackers of a .lt program replayed over the trace: every hit, " +
      "per-tracker statistics and the latency distribution",
    authors: ["the ltsh authors"],
    url: readme,
    tags: ["linux-kernel", "latency", "ltsh", "stats", "freq", "log"],
    "table-classes": TABLE_CLASSES,
  };
}
