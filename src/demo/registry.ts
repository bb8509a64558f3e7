// The demos `ltsh demo` knows, in the order it lists them.

import type { Demo } from "./demo.ts";
import { jackDemo } from "./jack.ts";
import { memcachedIrqDemo, memcachedLogDemo } from "./memcached.ts";

export const DEMOS: readonly Demo[] = [jackDemo, memcachedIrqDemo, memcachedLogDemo];

export function findDemo(name: string): Demo | undefined {
  return DEMOS.find((d) => d.name === name);
}
