// Starts the interactive shell: picks the backend, checks a FILE.lt given on the command
// line, opens the session (live permission problems are reported before the UI starts),
// renders the Ink app, and on quit closes the session and prints the final summaries.

import { render } from "ink";
import type { CatalogIndex } from "../compiler/catalog/index.ts";
import { compileFile } from "../compiler/compile.ts";
import { defaultOptions } from "../compiler/options.ts";
import { renderDiagnostics } from "../compiler/render.ts";
import { formatSummary } from "../records/output.ts";
import {
  type BackendName,
  backendLabel,
  openFailureHint,
  openSession,
  type SessionOptions,
} from "../session/backends.ts";
import { App } from "./App.tsx";
import { ShellController } from "./controller.ts";
import { compilerFrontEnd } from "./front-end.ts";
import { appendHistory, historyPath, loadHistory } from "./history-file.ts";
import type { Narration, PromptKeys } from "./narration.ts";
import type { CheckResult } from "./statements.ts";
import { shellVocabulary } from "./vocabulary.ts";

export interface ShellOptions {
  backend: BackendName;
  catalog: CatalogIndex;
  /** A .lt file whose trackers start with the shell. */
  file?: string;
  replay?: SessionOptions["replay"];
  /** First lines of the feed (why this backend was chosen, for the demo). */
  banner?: string[];
  /** Lines kept above the tables and keys on an empty prompt (`ltsh demo`). */
  narration?: Narration;
  promptKeys?: PromptKeys;
  /** ltsh's version (for :metrics' ltsh_build_info). */
  version: string;
}

export async function runShell(options: ShellOptions): Promise<number> {
  const frontEnd = compilerFrontEnd(options.catalog, options.backend);
  let initial: Extract<CheckResult, { ok: true }> | null = null;
  if (options.file) {
    const { plan, diagnostics, text } = compileFile(options.file, {
      catalog: options.catalog,
      backend: options.backend,
    });
    process.stderr.write(renderDiagnostics(diagnostics, text));
    if (!plan) return 1;
    const checked = frontEnd.checkFile(text, options.file, []);
    if (!checked.ok) return 1;
    initial = { ...checked, warnings: "" };
  }
  const label = backendLabel(options.backend, options.replay?.path);
  const controller = new ShellController({
    backend: label,
    frontEnd,
    version: options.version,
    options: initial?.options ?? defaultOptions(),
    openSession: (listener, sessionOptions) =>
      openSession(options.backend, { listener, options: sessionOptions, replay: options.replay }),
  });
  try {
    await controller.open();
  } catch (error) {
    process.stderr.write(`ltsh: error: ${(error as Error).message}\n`);
    const hint = openFailureHint(options.backend);
    if (hint) process.stderr.write(`${hint}\n`);
    return 1;
  }
  const banner = [
    ...(options.banner ?? []),
    `ltsh shell on ${label}: type :help, or a tracker and Enter`,
  ];
  if (initial) {
    const outcome = await controller.addStatements(initial);
    if (!outcome.ok) {
      await controller.closeSession();
      process.stderr.write(`${outcome.error}\n`);
      return 1;
    }
    banner.push(`${options.file}: ${outcome.output.join(", ")}`);
  }
  return interact(controller, options, banner);
}

async function interact(
  controller: ShellController,
  options: ShellOptions,
  banner: string[],
): Promise<number> {
  const historyFile = historyPath();
  let historyWarned = false;
  const onHistory = (line: string) => {
    const problem = appendHistory(historyFile, line);
    if (problem && !historyWarned) {
      historyWarned = true;
      controller.listener.warning(`history not kept: ${problem}`);
    }
  };
  let quit: () => void = () => {};
  const quitting = new Promise<void>((resolve) => {
    quit = resolve;
  });
  const vocabulary = shellVocabulary(options.catalog, () => controller.statements.names());
  const instance = render(
    <App
      controller={controller}
      vocabulary={vocabulary}
      history={loadHistory(historyFile)}
      onHistory={onHistory}
      onQuit={() => quit()}
      onClearScreen={() => process.stdout.write("\u001B[2J\u001B[3J\u001B[H")}
      banner={banner}
      narration={options.narration}
      promptKeys={options.promptKeys}
    />,
    // The shell only runs on a terminal; Ink would otherwise fall back to printing the last
    // frame at exit whenever CI=true is in the environment (CI jobs, some IDE terminals).
    { exitOnCtrlC: false, incrementalRendering: true, interactive: Boolean(process.stdout.isTTY) },
  );
  // Keys never raise SIGINT (raw mode); a signal from elsewhere quits like :quit does.
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  const onSignal = () => quit();
  for (const signal of signals) process.on(signal, onSignal);
  await quitting;
  for (const signal of signals) process.off(signal, onSignal);
  const summaries = await controller.closeSession();
  instance.unmount();
  await instance.waitUntilExit().catch(() => {});
  for (const summary of summaries) process.stdout.write(`${formatSummary(summary)}\n`);
  return 0;
}
