// The `exec` action of live sessions: runs an argv (no shell) with the hit in LTSH_*
// environment variables, at most exec.rate per second per tracker (the rest are skipped and
// counted), each killed after exec.timeout. A storm of hits must not become a fork bomb.

import { type ChildProcess, spawn } from "node:child_process";
import type { OptionValue } from "../compiler/plan.ts";
import { onCleanup } from "../kernel/cleanup.ts";
import { hitEnvironment } from "../records/environment.ts";
import type { HitRecord } from "../records/types.ts";

export interface ExecOptions {
  /** Most commands started per second per tracker (a token bucket of this size). */
  ratePerSecond: number;
  timeoutNs: number;
  /** Non-fatal problems a user must see: a command not found, killed, failing. */
  warn: (message: string) => void;
  /** After the SIGTERM at the timeout, how long before SIGKILL. */
  killGraceMs?: number;
  /** Milliseconds clock; injectable for tests. */
  now?: () => number;
}

export interface ExecCounts {
  started: number;
  /** Hits whose command was not run because the tracker's rate was used up. */
  skipped: number;
  failed: number;
  timedOut: number;
}

interface Bucket {
  tokens: number;
  refilledAt: number;
  counts: ExecCounts;
  /** Skips since the last warning, so a storm gives one line per second, not one per hit. */
  unreportedSkips: number;
  warnedAt: number;
}

export class ExecRunner {
  private readonly buckets = new Map<string, Bucket>();
  private readonly running = new Set<ChildProcess>();
  private readonly idle: (() => void)[] = [];
  private readonly now: () => number;
  private readonly unregister: () => void;

  constructor(private readonly options: ExecOptions) {
    this.now = options.now ?? (() => performance.now());
    this.unregister = onCleanup(() => this.killAll("SIGKILL"));
  }

  /** From the program's `set exec.rate` / `set exec.timeout` (defaults filled in). */
  static fromOptions(options: Record<string, OptionValue>, warn: (m: string) => void): ExecRunner {
    return new ExecRunner({
      ratePerSecond: Number(options["exec.rate"] ?? 10),
      timeoutNs: Number(options["exec.timeout"] ?? 5_000_000_000),
      warn,
    });
  }

  /** Runs argv for this hit unless the tracker's rate is used up; returns whether it started. */
  run(argv: string[], hit: HitRecord): boolean {
    const bucket = this.bucket(hit.tracker);
    if (bucket.tokens < 1) {
      bucket.counts.skipped++;
      bucket.unreportedSkips++;
      this.reportSkips(hit.tracker, bucket);
      return false;
    }
    bucket.tokens--;
    bucket.counts.started++;
    this.spawnOne(argv, hit, bucket.counts);
    return true;
  }

  counts(tracker: string): ExecCounts {
    return { ...this.bucket(tracker).counts };
  }

  /** Waits for running commands (each bounded by its timeout); kills them if kill is set. */
  async close(kill = false): Promise<void> {
    if (kill) this.killAll("SIGKILL");
    if (this.running.size > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
    for (const [tracker, bucket] of this.buckets) this.reportSkips(tracker, bucket, true);
    this.unregister();
  }

  private bucket(tracker: string): Bucket {
    let bucket = this.buckets.get(tracker);
    const now = this.now();
    if (bucket === undefined) {
      bucket = {
        tokens: this.options.ratePerSecond,
        refilledAt: now,
        counts: { started: 0, skipped: 0, failed: 0, timedOut: 0 },
        unreportedSkips: 0,
        warnedAt: -Infinity,
      };
      this.buckets.set(tracker, bucket);
    }
    const rate = this.options.ratePerSecond;
    bucket.tokens = Math.min(rate, bucket.tokens + ((now - bucket.refilledAt) / 1000) * rate);
    bucket.refilledAt = now;
    return bucket;
  }

  private reportSkips(tracker: string, bucket: Bucket, force = false): void {
    if (bucket.unreportedSkips === 0) return;
    const now = this.now();
    if (!force && now - bucket.warnedAt < 1000) return;
    this.options.warn(
      `${tracker}: exec skipped for ${bucket.unreportedSkips} hit(s): more than ` +
        `${this.options.ratePerSecond} per second (set exec.rate)`,
    );
    bucket.unreportedSkips = 0;
    bucket.warnedAt = now;
  }

  private spawnOne(argv: string[], hit: HitRecord, counts: ExecCounts): void {
    const name = argv[0];
    // Own process group, so the timeout also reaches what the command started.
    const child = spawn(name, argv.slice(1), {
      env: { ...process.env, ...hitEnvironment(hit) },
      stdio: ["ignore", process.stderr, process.stderr],
      detached: true,
    });
    this.running.add(child);
    const timeoutMs = this.options.timeoutNs / 1e6;
    let timedOut = false;
    let killTimer: NodeJS.Timeout | null = null;
    const termTimer = setTimeout(() => {
      timedOut = true;
      signalGroup(child, "SIGTERM");
      killTimer = setTimeout(() => signalGroup(child, "SIGKILL"), this.options.killGraceMs ?? 1000);
    }, timeoutMs);
    const finish = () => {
      clearTimeout(termTimer);
      if (killTimer !== null) clearTimeout(killTimer);
      if (!this.running.delete(child)) return;
      if (this.running.size === 0) for (const resolve of this.idle.splice(0)) resolve();
    };
    child.on("error", (error) => {
      counts.failed++;
      this.options.warn(`exec ${name}: ${(error as NodeJS.ErrnoException).code ?? error.message}`);
      finish();
    });
    child.on("exit", (code, signal) => {
      if (timedOut) {
        counts.timedOut++;
        this.options.warn(`exec ${name}: killed after exec.timeout (${timeoutMs} ms)`);
      } else if (code !== 0) {
        counts.failed++;
        this.options.warn(
          `exec ${name}: ${signal ? `killed by ${signal}` : `exit status ${code}`}`,
        );
      }
      finish();
    });
  }

  private killAll(signal: NodeJS.Signals): void {
    for (const child of this.running) signalGroup(child, signal);
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}
