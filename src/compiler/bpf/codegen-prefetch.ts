// The prefetch of one program: what its expressions need from helpers (builtins) or from
// context fields that cannot be loaded directly (offset < 8), each fetched once into a stack
// slot before the expressions run, since a helper call would clobber their registers.

import type { TracepointField } from "../catalog/types.ts";
import type { Expr, UserProbeSitePlan } from "../plan.ts";
import { DATA_LOC_STRING_SIZE, USER_STRING_SIZE } from "../plan.ts";
import { fetchUserArgument, fetchUserString, readString } from "./codegen-uprobe.ts";
import { CodegenError, type Emitter, RegisterPool } from "./emitter.ts";
import { Helper } from "./helpers.ts";
import { Add, And, call, FP, loadMem, Mov, R0, R1, R2, R3, R6, storeMem } from "./insn.ts";
import type { TaskOffsets } from "./layout.ts";

/** What a side needs fetched through a helper (or read with probe_read) before its expressions. */
export type Need =
  | "pidTgid"
  | "cpu"
  | "uidGid"
  | "cgroup"
  | "comm"
  | `field:${number}:${number}`
  /** A variable-length string field (its __data_loc locator's offset), read onto the stack. */
  | `dstr:${number}`
  /** A user-space probe's argument N (8 bytes), and the string it points to. */
  | `user:${number}`
  | `ustr:${number}`;

/**
 * A program's prefetched helper values: stack offsets (from R10) of what has been fetched,
 * with the emitter and the register pool its expressions are evaluated with.
 */
export class Prefetch {
  readonly slots = new Map<Need, number>();
  readonly pool = new RegisterPool();
  /**
   * `site`: the user-space probe site this program runs at (its fields are its arguments).
   * `task`: task_struct offsets (BTF): `comm` is then two loads from the current task, not
   * the get_current_comm helper (which copies it, NUL-padded: the kernel keeps it so).
   */
  constructor(
    readonly em: Emitter,
    readonly site?: UserProbeSitePlan,
    readonly task?: TaskOffsets,
  ) {}

  /** Fetches every value `exprs` need that is not yet on the stack. */
  fetch(exprs: readonly (Expr | null)[]): void {
    for (const e of exprs) if (e) for (const need of needsOf(e, this.site)) this.fetchOne(need);
  }

  /** Fetches one value into its slot (a preset slot when the caller placed it). */
  fetchOne(need: Need, presetOffset?: number): number {
    const known = this.slots.get(need);
    if (known !== undefined) return known;
    const em = this.em;
    if (need.startsWith("user:") || need.startsWith("ustr:")) return this.fetchUser(need);
    if (need.startsWith("dstr:")) return this.fetchDataLocString(need, presetOffset);
    const off = presetOffset ?? em.alloc(need === "comm" ? 16 : fieldNeedSize(need));
    if (need === "comm" && this.task !== undefined) {
      em.emit(call(Helper.get_current_task_btf));
      for (const at of [0, 8]) {
        em.emit(loadMem(R1, R0, this.task.comm + at, 8), storeMem(FP, off + at, R1, 8));
      }
    } else if (need === "comm" || need.startsWith("field:")) {
      em.emit(Mov.reg(R1, FP), Add.imm(R1, off));
      if (need === "comm") em.emit(Mov.imm(R2, 16), call(Helper.get_current_comm));
      else {
        const [, offset, size] = need.split(":").map(Number);
        em.emit(Mov.imm(R2, size), Mov.reg(R3, R6), Add.imm(R3, offset));
        em.emit(call(Helper.probe_read_kernel));
      }
    } else {
      const helper = {
        pidTgid: Helper.get_current_pid_tgid,
        cpu: Helper.get_smp_processor_id,
        uidGid: Helper.get_current_uid_gid,
        cgroup: Helper.get_current_cgroup_id,
      }[need as "pidTgid" | "cpu" | "uidGid" | "cgroup"];
      em.emit(call(helper), storeMem(FP, off, R0, need === "cpu" ? 4 : 8));
    }
    this.slots.set(need, off);
    return off;
  }

  /**
   * A `__data_loc char[]` field: its u32 locator holds the string's offset in the record (low
   * 16 bits) and its length (high 16); probe_read_kernel_str copies at most
   * DATA_LOC_STRING_SIZE bytes, NUL included, into a zeroed slot (the rest stays zero, so
   * equal strings are equal slots, as keys need).
   */
  private fetchDataLocString(need: Need, presetOffset?: number): number {
    const em = this.em;
    const locator = Number(need.slice(5));
    const off = presetOffset ?? em.alloc(DATA_LOC_STRING_SIZE);
    readString(em, off, DATA_LOC_STRING_SIZE, Helper.probe_read_kernel_str, [
      loadMem(R3, R6, locator, 4),
      And.imm(R3, 0xffff),
      Add.reg(R3, R6),
    ]);
    this.slots.set(need, off);
    return off;
  }

  private fetchUser(need: Need): number {
    if (this.site === undefined) throw new CodegenError(`${need} outside a user-space probe`);
    const index = Number(need.slice(5));
    let off: number;
    if (need.startsWith("ustr:")) {
      const pointer = this.fetchOne(`user:${index}`);
      off = this.em.alloc(USER_STRING_SIZE);
      fetchUserString(this.em, pointer, off);
    } else {
      off = this.em.alloc(8);
      fetchUserArgument(this.em, this.site, index, off);
    }
    this.slots.set(need, off);
    return off;
  }
}

/** What a field of this program's probe needs: user-space probe fields are all fetched. */
export function userNeed(e: Extract<Expr, { kind: "field" }>): Need {
  return e.type.kind === "string" ? `ustr:${e.field.offset}` : `user:${e.field.offset}`;
}

function fieldNeedSize(need: Need): number {
  return need.startsWith("field:") ? Number(need.split(":")[2]) : 8;
}

/** The context may be read directly only at offsets >= 8, aligned to the access size. */
export function directlyLoadable(f: TracepointField): boolean {
  return f.offset >= 8 && f.offset % f.size === 0 && [1, 2, 4, 8].includes(f.size);
}

function needsOf(e: Expr, site: UserProbeSitePlan | undefined): Need[] {
  switch (e.kind) {
    case "builtin":
      return [builtinNeed(e.name)];
    case "field":
      if (site !== undefined) return [userNeed(e)];
      if (e.field.dataLoc) return [`dstr:${e.field.offset}`];
      return e.type.kind === "int" && !directlyLoadable(e.field)
        ? [`field:${e.field.offset}:${e.field.size}`]
        : [];
    case "not":
      return needsOf(e.operand, site);
    case "compare":
    case "logic":
      return [...needsOf(e.left, site), ...needsOf(e.right, site)];
    default:
      return [];
  }
}

export function builtinNeed(name: string): Need {
  if (name === "tid" || name === "pid") return "pidTgid";
  if (name === "uid") return "uidGid";
  return name as "cpu" | "cgroup" | "comm";
}
