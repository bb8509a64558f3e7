// Renders a Diagnostic the way compilers do: `file:line:col: error: message`, the source
// line, a caret under the range, then notes.

import type { Diagnostic } from "./diagnostic.ts";

export function renderDiagnostic(d: Diagnostic, sourceText: string): string {
  const { file, line, col } = d.range;
  const lines = [`${file}:${line}:${col}: ${d.severity}: ${d.message}`];
  // No excerpt for a file with no text (unreadable or empty): an empty line and a caret
  // would only be noise.
  const sourceLine = sourceText === "" ? undefined : sourceText.split("\n")[line - 1];
  if (sourceLine !== undefined) {
    const full = sourceLine.replace(/\r$/, "").replace(/\t/g, " ");
    const fullWidth = d.range.endLine === line ? d.range.endCol - col : full.length - col + 1;
    const { text, caretCol } = window(full, col);
    const width = Math.max(1, Math.min(fullWidth, text.length - caretCol + 2));
    const gutter = String(line).length;
    lines.push(` ${line} | ${text}`);
    lines.push(
      ` ${" ".repeat(gutter)} | ${" ".repeat(Math.max(0, caretCol - 1))}^${"~".repeat(width - 1)}`,
    );
  }
  for (const note of d.notes ?? []) lines.push(`note: ${note}`);
  return `${lines.join("\n")}\n`;
}

const MAX_SHOWN = 120;

/** A long line is shown as a window around the column, with … where it is cut. */
function window(text: string, col: number): { text: string; caretCol: number } {
  if (text.length <= MAX_SHOWN) return { text, caretCol: col };
  const start = Math.max(0, Math.min(col - 1 - 40, text.length - MAX_SHOWN));
  const cutLeft = start > 0;
  const cutRight = start + MAX_SHOWN < text.length;
  const shown = `${cutLeft ? "…" : ""}${text.slice(start, start + MAX_SHOWN)}${cutRight ? "…" : ""}`;
  return { text: shown, caretCol: col - start + (cutLeft ? 1 : 0) };
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
