// Environment for running ltsh in the demo tests: the sources, not the bundle. In a git
// worktree whose node_modules links to another checkout, the bundle's file URLs (the
// trackers in examples/demos, the workload scripts) would point into that checkout.

export const SOURCES = { LTSH_NO_BUNDLE: "1" };
