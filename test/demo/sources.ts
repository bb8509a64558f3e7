// Environment for running ltsh in the demo tests: the sources, not the bundle. In a git
// worktree whose node_modules links to another checkout, the bundle's file URLs (the
// trackers in examples/demos, the workload scripts) would point into that checkout.

// tsx reads the tsconfig of the working directory (the JSX transform): the tests run ltsh
// from a scratch directory, so it is named.

export const SOURCES = {
  LTSH_NO_BUNDLE: "1",
  TSX_TSCONFIG_PATH: new URL("../../tsconfig.json", import.meta.url).pathname,
};
