// Builds kernel modules for the VM test: compiles .lt files with the front end, writes each
// kmod target output to a directory and runs Kbuild against the guest kernel's headers,
// two at a time, failing on any compiler warning.

import { spawn } from "node:child_process";
import { join } from "node:path";
import { compileFile } from "../../src/compiler/compile.ts";
import {
  generateModule,
  KmodDiagnosticsError,
  writeModule,
} from "../../src/compiler/kmod/target.ts";
import type { FilePlan } from "../../src/compiler/plan.ts";
import { renderDiagnostics } from "../../src/compiler/render.ts";

export interface BuiltModule {
  example: string;
  name: string;
  plan: FilePlan;
  dir: string;
  ko: string;
}

export interface BuildFailure {
  example: string;
  reason: string;
}

export function runMake(dir: string, headers: string, timeoutMs = 240_000): Promise<string | null> {
  return new Promise((resolve) => {
    const child = spawn("make", ["-C", headers, `M=${dir}`, "modules"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let log = "";
    child.stdout.on("data", (c) => {
      log += c;
    });
    child.stderr.on("data", (c) => {
      log += c;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code !== 0) resolve(`make failed (exit ${code}):\n${tail(log)}`);
      else if (/warning:/i.test(log)) resolve(`compiler warnings:\n${tail(log)}`);
      else resolve(null);
    });
  });
}

function tail(log: string): string {
  return log.trim().split("\n").slice(-15).join("\n");
}

/** Generates and writes one example's module; a string says why not. */
export function prepareModule(example: string, outRoot: string): BuiltModule | string {
  const { plan, diagnostics, text } = compileFile(example, { backend: "kmod" });
  if (!plan) return `does not compile:\n${renderDiagnostics(diagnostics, text)}`;
  try {
    const module = generateModule(plan);
    const dir = join(outRoot, module.model.name);
    writeModule(module, dir);
    return {
      example,
      name: module.model.name,
      plan,
      dir,
      ko: join(dir, `${module.model.name}.ko`),
    };
  } catch (error) {
    if (error instanceof KmodDiagnosticsError) {
      return `kmod target refused it:\n${renderDiagnostics(error.diagnostics, text)}`;
    }
    throw error;
  }
}

/** Builds every example's module, at most two builds at once (two cores here). */
export async function buildModules(
  examples: string[],
  outRoot: string,
  headers: string,
): Promise<{ built: BuiltModule[]; failed: BuildFailure[] }> {
  const built: BuiltModule[] = [];
  const failed: BuildFailure[] = [];
  const queue = [...examples];
  const worker = async () => {
    for (let example = queue.shift(); example; example = queue.shift()) {
      const prepared = prepareModule(example, outRoot);
      if (typeof prepared === "string") {
        failed.push({ example, reason: prepared });
        continue;
      }
      const problem = await runMake(prepared.dir, headers);
      if (problem) failed.push({ example, reason: problem });
      else built.push(prepared);
    }
  };
  await Promise.all([worker(), worker()]);
  built.sort((a, b) => a.name.localeCompare(b.name));
  return { built, failed };
}
