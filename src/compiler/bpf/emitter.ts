// The code buffer codegen writes into: instructions stamped with the current `.lt` source,
// labels attached to the next instruction, fresh label names, and a stack-frame allocator.

import { type Insn, R0, R1, R2, R3, R4, R5, R7, R8, R9, type Register } from "./insn.ts";

export class CodegenError extends Error {}

const MAX_STACK = 512;

export class Emitter {
  readonly insns: Insn[] = [];
  private pendingLabels: string[] = [];
  private labelCount = 0;
  private stackUsed = 0;
  /** The `.lt` text stamped on what is emitted now: set only through withSource(). */
  private source: string | undefined;

  emit(...insns: Insn[]): void {
    for (const i of insns) {
      const stamped: Insn = { ...i };
      if (this.source !== undefined && stamped.source === undefined) stamped.source = this.source;
      if (this.pendingLabels.length > 0) {
        stamped.labels = [...(i.labels ?? []), ...this.pendingLabels];
        this.pendingLabels = [];
      }
      this.insns.push(stamped);
    }
  }

  /** Marks the next emitted instruction as the target of `name`. */
  label(name: string): void {
    this.pendingLabels.push(name);
  }

  /** A label name not used before in this program. */
  fresh(hint: string): string {
    return `${hint}_${this.labelCount++}`;
  }

  /** Reserves `size` bytes (8-aligned) of the stack frame; returns the offset from R10 (negative). */
  alloc(size: number): number {
    this.stackUsed += (size + 7) & ~7;
    if (this.stackUsed > MAX_STACK) {
      throw new CodegenError(`the program needs more than ${MAX_STACK} bytes of BPF stack`);
    }
    return -this.stackUsed;
  }

  /**
   * Runs `body` with the given source text stamped on what it emits (an instruction that
   * already carries one keeps it); the text in force before is restored after.
   */
  withSource<T>(source: string | undefined, body: () => T): T {
    const saved = this.source;
    this.source = source;
    try {
      return body();
    } finally {
      this.source = saved;
    }
  }

  /** Pending labels must land on an instruction: call before the program ends. */
  finish(): Insn[] {
    if (this.pendingLabels.length > 0) {
      throw new CodegenError(`label(s) ${this.pendingLabels.join(", ")} at the end of the program`);
    }
    return this.insns;
  }
}

/**
 * Registers for expression evaluation. Helper calls clobber R0-R5, so expressions are
 * evaluated with no call in the middle (builtins are fetched to the stack first).
 */
export class RegisterPool {
  private free: Register[] = [R1, R2, R3, R4, R5, R0, R7, R8, R9];

  take(): Register {
    const r = this.free.shift();
    if (r === undefined) throw new CodegenError("expression too deep for the BPF registers");
    return r;
  }

  release(r: Register): void {
    this.free.unshift(r);
  }
}
