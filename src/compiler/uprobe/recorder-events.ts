// The uprobe_events entries `ltsh record --for-file` defines for one resolved user-space
// probe: one per site, named `<base>` (or `<base>_<n>` when the probe has several sites),
// with fetch arguments for what the replay reader needs: arg0…arg5 of a uprobe, the return
// value of a uretprobe, every USDT argument uprobe_events can read.

import type { UprobeEventSpec } from "../../kernel/uprobe-events.ts";
import type { ElfResult } from "./elf.ts";
import { symbolAddresses } from "./elf-symbols.ts";
import { functionArgFetch, RETVAL_FETCH, usdtFetchArg } from "./fetch-args.ts";
import type { UserProbeSite, UserProbeTarget } from "./probe-target.ts";

export interface RecorderEvents {
  specs: UprobeEventSpec[];
  /** "<event>.argN: why" for USDT arguments uprobe_events cannot read (indexed operands). */
  unreadable: string[];
}

/** `baseName` becomes the event name once reduced to letters, digits and _. */
export function recorderEvents(
  target: UserProbeTarget,
  baseName: string,
): ElfResult<RecorderEvents> {
  const base = baseName.replace(/[^A-Za-z0-9_]/g, "_").replace(/^(?=\d)/, "_");
  const symbols =
    target.kind === "usdt" ? symbolAddresses(target.path) : { ok: true as const, value: new Map() };
  if (!symbols.ok) return symbols;
  const unreadable: string[] = [];
  const specs = target.sites.map((site, index) => {
    const name = target.sites.length > 1 ? `${base}_${index}` : base;
    const fetchArgs = fetchArgsOf(target, site, symbols.value, (what, why) =>
      unreadable.push(`${name}${what}: ${why}`),
    );
    return {
      name,
      path: target.path,
      fileOffset: site.fileOffset,
      ...(target.kind === "uretprobe" ? { retprobe: true } : {}),
      ...(site.refCtrOffset !== 0 ? { refCtrOffset: site.refCtrOffset } : {}),
      fetchArgs,
    };
  });
  return { ok: true, value: { specs, unreadable } };
}

function fetchArgsOf(
  target: UserProbeTarget,
  site: UserProbeSite,
  symbols: ReadonlyMap<string, number>,
  skip: (what: string, why: string) => void,
): string[] {
  if (target.kind === "uretprobe") return [`retval=${RETVAL_FETCH}`];
  if (target.kind === "uprobe")
    return [0, 1, 2, 3, 4, 5].flatMap((i) => {
      const fetch = functionArgFetch(i);
      return fetch.ok ? [`arg${i}=${fetch.value}`] : [];
    });
  if (site.arguments === undefined || !site.arguments.ok) {
    if (site.arguments !== undefined && !site.arguments.ok) skip("", site.arguments.message);
    return [];
  }
  const context = {
    probeAddress: site.address,
    probeFileOffset: site.fileOffset,
    symbolAddress: (name: string) => symbols.get(name),
  };
  return site.arguments.value.flatMap((argument, index) => {
    const fetch = usdtFetchArg(argument, context);
    if (fetch.ok) return [`arg${index}=${fetch.value}`];
    skip(`.arg${index}`, fetch.message);
    return [];
  });
}
