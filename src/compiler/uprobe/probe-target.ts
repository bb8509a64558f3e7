// From a probe's spelling to what a backend attaches: `uprobe:PATH:SPEC`,
// `uretprobe:PATH:SPEC` or `usdt:PATH:[PROVIDER:]NAME` → the resolved file and its sites
// (file offset, semaphore offset, and for USDT each site's decoded arguments). The one call
// the checker makes per user-space probe; its messages are written to follow
// `file:line:col: error: `.

import { type ElfResult, withElf } from "./elf.ts";
import { resolveBinary } from "./resolve-path.ts";
import { locateUprobe } from "./symbols.ts";
import type { UsdtArgument } from "./usdt-args.ts";
import { findUsdtProbe } from "./usdt-lookup.ts";
import { readUsdtProbes } from "./usdt-notes.ts";

export type UserProbeKind = "uprobe" | "uretprobe" | "usdt";

export interface UserProbeSite {
  /** Virtual address in the file's layout (a RIP-relative operand's load bias is ip − this). */
  address: number;
  fileOffset: number;
  /** USDT semaphore file offset (ref_ctr_offset); 0 when none. */
  refCtrOffset: number;
  /** USDT only: the site's arguments (sites of one probe may keep them in different places). */
  arguments?: ElfResult<UsdtArgument[]>;
}

export interface UserProbeTarget {
  kind: UserProbeKind;
  /** Absolute, symlink-free path of the binary or library. */
  path: string;
  /** "lt_add", "lt_add+4", "0x1139" for uprobes; "provider:name" for USDT. */
  name: string;
  sites: UserProbeSite[];
  /** uprobe on a GNU indirect function: the probe would see the resolver only. */
  indirect?: true;
}

/** Splits "usdt:PATH:REST" into kind, path and the rest; null when it is no such spelling. */
export function splitUserProbe(
  text: string,
): { kind: UserProbeKind; path: string; spec: string } | null {
  const match = /^(uprobe|uretprobe|usdt):([^:]+):(.+)$/.exec(text);
  return match === null
    ? null
    : { kind: match[1] as UserProbeKind, path: match[2], spec: match[3] };
}

/** Resolves the binary, then the symbol or USDT probe inside it. */
export function resolveUserProbe(
  kind: UserProbeKind,
  pathSpec: string,
  spec: string,
): ElfResult<UserProbeTarget> {
  const path = resolveBinary(pathSpec);
  if (!path.ok) return path;
  return withElf(path.value, (elf): ElfResult<UserProbeTarget> => {
    if (kind === "usdt") {
      const probes = readUsdtProbes(elf);
      if (!probes.ok) return probes;
      const found = findUsdtProbe(path.value, probes.value, spec);
      if (!found.ok) return found;
      const sites = found.value.sites.map((site) => ({
        address: site.address,
        fileOffset: site.fileOffset,
        refCtrOffset: site.semaphoreOffset,
        arguments: site.arguments,
      }));
      return {
        ok: true,
        value: {
          kind,
          path: path.value,
          name: `${found.value.provider}:${spec.split(":").pop()}`,
          sites,
        },
      };
    }
    if (kind === "uretprobe" && spec.includes("+"))
      return { ok: false, message: "a uretprobe attaches to a function's entry: drop the +OFFSET" };
    const located = locateUprobe(elf, spec);
    if (!located.ok) return located;
    const { address, fileOffset, indirect } = located.value;
    return {
      ok: true,
      value: {
        kind,
        path: path.value,
        name: spec,
        sites: [{ address, fileOffset, refCtrOffset: 0 }],
        ...(indirect ? { indirect } : {}),
      },
    };
  });
}
