// Types of scripts/build-exe.mjs for the TypeScript that imports it (bench/metrics.ts).

/** dist/ltsh, absolute. */
export const EXE: string;
/** Builds dist/ltsh; its path, size in bytes and the number of files inside. */
export function buildExe(): Promise<{ path: string; bytes: number; assets: number }>;
