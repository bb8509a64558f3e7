// Renders a Diagnostic the way compilers do: `file:line:col: error: message`, the source
// line, a caret under the range, then notes.

import type { Diagnostic } from "./diagnostic.ts";

export function renderDiagnostic(d: Diagnostic, sourceText: string): string {
  const { file, line, col } = d.range;
  const lines = [`${file}:${line}:${col}: ${d.severity}: ${d.message}`];
  const sourceLine = sourceText.split("\n")[line - 1];
  if (sourceLine !== undefined) {
    const text = sourceLine.replace(/\r$/, "").replace(/\t/g, " ");
    const gutter = String(line).length;
    const width =
      d.range.endLine === line
        ? Math.max(1, d.range.endCol - col)
        : Math.max(1, text.length - col + 1);
    lines.push(` ${line} | ${text}`);
    lines.push(
      ` ${" ".repeat(gutter)} | ${" ".repeat(Math.max(0, col - 1))}^${"~".repeat(width - 1)}`,
    );
  }
  for (const note of d.notes ?? []) lines.push(`note: ${note}`);
  return `${lines.join("\n")}\n`;
}

/** Every diagnostic, in source order (errors before warnings at the same place). */
export function renderDiagnostics(diagnostics: readonly Diagnostic[], sourceText: string): string {
  return sortDiagnostics(diagnostics)
    .map((d) => renderDiagnostic(d, sourceText))
    .join("");
}

export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  const rank = { error: 0, warning: 1, note: 2 };
  return [...diagnostics].sort(
    (a, b) => a.range.offset - b.range.offset || rank[a.severity] - rank[b.severity],
  );
}
