// Finding `usdt:PATH:PROVIDER:NAME` or `usdt:PATH:NAME` among a binary's probes. One probe
// can have several sites (a probe in an inlined function, or in a loop the compiler
// unrolled): each site is a note of its own, and a tracker attaches to all of them.

import { suggest } from "../suggest.ts";
import type { ElfResult } from "./elf.ts";
import type { UsdtProbe } from "./usdt-notes.ts";

export interface UsdtMatch {
  provider: string;
  name: string;
  /** Every site of the probe, in note order (at least one). */
  sites: UsdtProbe[];
}

/** `spec` is "provider:name" or a bare "name" that only one provider uses. */
export function findUsdtProbe(
  path: string,
  probes: readonly UsdtProbe[],
  spec: string,
): ElfResult<UsdtMatch> {
  const colon = spec.indexOf(":");
  const provider = colon < 0 ? undefined : spec.slice(0, colon);
  const name = colon < 0 ? spec : spec.slice(colon + 1);
  const sites = probes.filter(
    (p) => p.name === name && (provider === undefined || p.provider === provider),
  );
  const providers = [...new Set(sites.map((p) => p.provider))];
  if (providers.length === 1) return { ok: true, value: { provider: providers[0], name, sites } };
  if (providers.length > 1) {
    const choices = providers.map((p) => `usdt:${path}:${p}:${name}`).join(", ");
    return { ok: false, message: `USDT probe '${name}' is ambiguous in ${path}: write ${choices}` };
  }
  return { ok: false, message: notFoundMessage(path, probes, spec) };
}

function notFoundMessage(path: string, probes: readonly UsdtProbe[], spec: string): string {
  if (probes.length === 0) return `${path} has no USDT probes (no .note.stapsdt section)`;
  const known = [...new Set(probes.map((p) => `${p.provider}:${p.name}`))];
  const names = spec.includes(":") ? known : known.map((k) => k.slice(k.indexOf(":") + 1));
  const close = suggest(spec, new Set(names));
  const hint = close.length > 0 ? `; did you mean ${close.map((c) => `'${c}'`).join(" or ")}?` : "";
  const listed = known.length <= 12 ? known.join(", ") : `${known.slice(0, 12).join(", ")}, …`;
  return `no USDT probe '${spec}' in ${path}${hint} (it has ${listed})`;
}
