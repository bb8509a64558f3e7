// Test helper: the PromQL expressions of deploy/grafana-dashboard.json, with Grafana's
// variables replaced the way Grafana would for "All" instances and trackers.

import { readFileSync } from "node:fs";

export const DEPLOY = new URL("../../deploy/", import.meta.url).pathname;

interface Panel {
  type: string;
  title: string;
  targets: { expr: string; format?: string }[];
}

export interface Dashboard {
  panels: Panel[];
  templating: { list: { name: string; type: string; query: unknown; allValue?: string }[] };
}

export function readDashboard(): Dashboard {
  return JSON.parse(readFileSync(`${DEPLOY}grafana-dashboard.json`, "utf8"));
}

/** Every panel's expressions, `$instance`/`$tracker` = ".*", `$__rate_interval` = `rate`. */
export function dashboardQueries(rate = "1m"): { panel: string; expr: string }[] {
  return readDashboard().panels.flatMap((p) =>
    p.targets.map((t) => ({
      panel: p.title,
      expr: t.expr
        .replaceAll("$instance", ".*")
        .replaceAll("$tracker", ".*")
        .replaceAll("$__rate_interval", rate),
    })),
  );
}
