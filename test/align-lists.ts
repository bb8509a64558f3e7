// The alignment the live/replay differentials share (test/kernel/examples-differential.test.ts,
// test/vm/pairs.ts, test/vm/ebpf-chain.ts): two time-ordered lists of reports of the same
// pairs, aligned for the least cost, a report left without a counterpart costing `skip`'s
// (1 unless said), a match what `matchCost` says (Infinity: not the same pair). Matching by
// time alone pairs neighbours: one task's pairs can come closer together than the two
// sides' clocks.

export interface Aligned<T> {
  matched: [T, T][];
  /** Reports of `x` left without a counterpart, and of `y`. */
  left: T[];
  right: T[];
}

export function alignLists<T>(
  x: T[],
  y: T[],
  matchCost: (a: T, b: T) => number,
  skip: { left: number; right: number } = { left: 1, right: 1 },
): Aligned<T> {
  const width = y.length + 1;
  const cost = new Float64Array((x.length + 1) * width);
  const at = (i: number, j: number) => i * width + j;
  for (let i = x.length; i >= 0; i--) {
    for (let j = y.length; j >= 0; j--) {
      if (i === x.length || j === y.length) {
        cost[at(i, j)] = (x.length - i) * skip.left + (y.length - j) * skip.right;
        continue;
      }
      cost[at(i, j)] = Math.min(
        skip.left + cost[at(i + 1, j)],
        skip.right + cost[at(i, j + 1)],
        matchCost(x[i], y[j]) + cost[at(i + 1, j + 1)],
      );
    }
  }
  const aligned: Aligned<T> = { matched: [], left: [], right: [] };
  let i = 0;
  let j = 0;
  while (i < x.length || j < y.length) {
    if (
      i < x.length &&
      j < y.length &&
      matchCost(x[i], y[j]) + cost[at(i + 1, j + 1)] === cost[at(i, j)]
    ) {
      aligned.matched.push([x[i++], y[j++]]);
    } else if (i < x.length && skip.left + cost[at(i + 1, j)] === cost[at(i, j)]) {
      aligned.left.push(x[i++]);
    } else aligned.right.push(y[j++]);
  }
  return aligned;
}
