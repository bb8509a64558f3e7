// The tokens of one chain tracker and where they live: context holders (scopes, tasks),
// pending softirq raises and `->` hand-off tables. Every live copy counts against the
// tracker's capacity; a chain whose last copy dies is counted as broken.

import type { KeepPolicy } from "../compiler/plan.ts";
import type { Holder } from "./contexts.ts";
import type { Value } from "./expr.ts";

export type StageKind =
  | "origin"
  | "raise"
  | "softirq"
  | "waking"
  | "run"
  | "preempted"
  | "waypoint"
  | "target"
  | "block";

/** One stage of a chain, its context copied out of the trace line. */
export interface Stage {
  stage: StageKind;
  probe: string;
  /** Trace time in ns relative to the first event (the interpreter's clock). */
  ts: number;
  sec: number;
  nsec: number;
  cpu: number;
  tid: number;
  pid: number;
  comm: string;
  /** "irq24", "NET_RX": what the text line shows after the stage's name. */
  detail: string;
}

/** One origin's chain: at most one pair, however many branches it grows. */
export interface Chain {
  originTs: number;
  deadline: number;
  branches: Set<Token>;
  /** Some rule carried it out of its origin's context (only such a chain can break). */
  moved: boolean;
}

/** One copy of a chain in one place. */
export interface Token {
  chain: Chain;
  stages: Stage[];
  /** Index of the next step to reach (1: the first after the origin). */
  step: number;
  /** When each step written was reached (index 0: the origin). */
  stepTs: number[];
  /** `until block`: the target is reached; the chain ends when this task blocks. */
  atTarget: boolean;
  table: Map<unknown, Token> | null;
  key: unknown;
}

export class ChainTokens {
  readonly held = new Map<Holder, Token>();
  /** Pending raises by "cpu:vec": the oldest is kept. */
  readonly raises = new Map<string, Token>();
  readonly handoffs = new Map<Value, Token>();
  /** Live chains in origin order (so in deadline order). */
  readonly chains = new Set<Chain>();
  dropped = 0;
  broken = 0;

  constructor(
    private readonly capacity: number,
    private readonly keep: KeepPolicy,
  ) {}

  get size(): number {
    return this.held.size + this.raises.size + this.handoffs.size;
  }

  /** A new chain and its first token, not placed yet (place() counts it when full). */
  newChain(stage: Stage, deadline: number): Token {
    const chain: Chain = { originTs: stage.ts, deadline, branches: new Set(), moved: false };
    return {
      chain,
      stages: [stage],
      step: 1,
      stepTs: [stage.ts],
      atTarget: false,
      table: null,
      key: null,
    };
  }

  /** A branch: the token's path so far plus one stage. */
  copy(token: Token, stage: Stage | null): Token {
    token.chain.moved = true;
    const copy = {
      ...token,
      stages: [...token.stages],
      stepTs: [...token.stepTs],
      table: null,
      key: null,
    };
    if (stage) addStage(copy, stage);
    return copy;
  }

  /**
   * Puts a token (new, or moved out of another table) at `key` of `table`. The keep policy
   * decides against a token already there (`oldestWins`: the oldest stays whatever the
   * policy, as for pending raises). False when the token was not placed: it is gone.
   */
  place<K>(token: Token, table: Map<K, Token>, key: K, oldestWins = false): boolean {
    const existing = table.get(key);
    const replacing = existing !== undefined && existing !== token;
    if (replacing && (oldestWins || this.keep === "first")) {
      this.remove(token);
      return false;
    }
    const moving = token.table !== null;
    if (!moving && !replacing && this.size >= this.capacity) {
      this.dropped++;
      this.remove(token);
      return false;
    }
    if (moving && token.table!.get(token.key) === token) token.table!.delete(token.key);
    if (moving) token.chain.moved = true;
    table.set(key, token);
    token.table = table as Map<unknown, Token>;
    token.key = key;
    token.chain.branches.add(token);
    this.chains.add(token.chain);
    // Displaced after the newcomer is in: a chain replaced by its own newer copy stays whole.
    if (replacing) this.detach(existing);
    return true;
  }

  /**
   * Forgets a token no longer in any table. When it was its chain's last copy the chain is
   * over: broken if it had moved, and otherwise an origin that led nowhere (a timer tick
   * that woke no one), which is not counted.
   */
  private detach(token: Token): void {
    token.table = null;
    const chain = token.chain;
    if (!chain.branches.delete(token)) return;
    if (chain.branches.size === 0 && this.chains.delete(chain) && chain.moved) this.broken++;
  }

  /** Drops one copy; the chain is broken when it was its last. */
  remove(token: Token): void {
    if (token.table !== null && token.table.get(token.key) === token) token.table.delete(token.key);
    this.detach(token);
  }

  /** The chain ended (a pair or a timeout): every copy is withdrawn, nothing is broken. */
  end(chain: Chain): void {
    this.chains.delete(chain);
    for (const token of chain.branches) {
      if (token.table !== null && token.table.get(token.key) === token) {
        token.table.delete(token.key);
      }
      token.table = null;
    }
    chain.branches.clear();
  }
}

/** The most stages a token keeps: a holder preempted again and again must not grow without end. */
export const MAX_STAGES = 64;

/**
 * Appends a stage. Past MAX_STAGES the oldest preempted/run pair (else the oldest stage after
 * the origin) is folded into the next stage: durations are the differences of consecutive
 * stages, so they still add up to the latency.
 */
export function addStage(token: Token, stage: Stage): void {
  const stages = token.stages;
  stages.push(stage);
  if (stages.length <= MAX_STAGES) return;
  const preempted = stages.findIndex((s, i) => i > 0 && s.stage === "preempted");
  if (preempted > 0 && preempted < stages.length - 2) stages.splice(preempted, 2);
  else stages.splice(1, 1);
}

/** The branch that got furthest: most steps reached, then most stages, then latest. */
export function furthest(chain: Chain): Token | null {
  let best: Token | null = null;
  for (const token of chain.branches) {
    if (best === null || further(token, best)) best = token;
  }
  return best;
}

function further(a: Token, b: Token): boolean {
  if (a.step !== b.step) return a.step > b.step;
  if (a.stages.length !== b.stages.length) return a.stages.length > b.stages.length;
  return a.stages[a.stages.length - 1].ts > b.stages[b.stages.length - 1].ts;
}
