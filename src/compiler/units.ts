// Units of durations and sizes: the one place that knows `us` and `MiB`.

/** A lookup table without a prototype: `5constructor` must not find Object's constructor. */
function table<T>(entries: Record<string, T>): Readonly<Record<string, T>> {
  return Object.freeze(Object.assign(Object.create(null) as Record<string, T>, entries));
}

export const DURATION_UNITS = table({ ns: 1n, us: 1_000n, ms: 1_000_000n, s: 1_000_000_000n });
export const SIZE_UNITS = table({ B: 1n, KiB: 1024n, MiB: 1024n ** 2n, GiB: 1024n ** 3n });

/** Thresholds and timeouts above this are surely a mistake (and would overflow nothing, but help no one). */
export const MAX_DURATION_NS = 3_600_000_000_000n;
