// Regenerates src/compiler/catalog/bundled.json.gz from this machine's tracefs: the catalog
// ltsh falls back to where tracefs is not readable. Run as root:
//   node --import tsx scripts/gen-catalog.ts [EVENTS_DIR]

import { writeFileSync } from "node:fs";
import { release } from "node:os";
import { gzipSync } from "node:zlib";
import {
  BUNDLED_CATALOG,
  readTracefsCatalog,
  TRACEFS_EVENT_DIRS,
} from "../src/compiler/catalog/index.ts";
import type { Catalog } from "../src/compiler/catalog/types.ts";

const eventsDir = process.argv[2] ?? TRACEFS_EVENT_DIRS[0];
const live = readTracefsCatalog(eventsDir);
const catalog: Catalog = {
  source: `bundled:linux-${release()}`,
  kernelRelease: release(),
  tracepoints: live.tracepoints,
};
// One tracepoint per line keeps the uncompressed JSON diffable.
const json = `{"source":${JSON.stringify(catalog.source)},"kernelRelease":${JSON.stringify(catalog.kernelRelease)},"tracepoints":[\n${catalog.tracepoints.map((t) => JSON.stringify(t)).join(",\n")}\n]}\n`;
const gz = gzipSync(json, { level: 9 });
writeFileSync(BUNDLED_CATALOG, gz);
process.stdout.write(
  `${BUNDLED_CATALOG.pathname}: ${catalog.tracepoints.length} tracepoints from ${eventsDir} (linux ${release()}), ${gz.length} bytes\n`,
);
