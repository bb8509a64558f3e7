// Laying out generated C as the kernel's coding style does: lines wrapped at 80 columns
// (never past the hard limit of 100 while a break is possible), calls broken after commas
// and conditions after && and ||, continuation lines aligned, comments word-wrapped.

/** Where lines are wrapped; the kernel's hard limit (and checkpatch's) is 100. */
const COLUMNS = 80;

/** Columns of a line, tabs counted to the next multiple of 8. */
export function lineWidth(line: string): number {
  let width = 0;
  for (const c of line) width = c === "\t" ? (Math.floor(width / 8) + 1) * 8 : width + 1;
  return width;
}

/** Tabs then spaces reaching `column`, as the kernel aligns continuation lines. */
function alignTo(column: number): string {
  return "\t".repeat(Math.floor(column / 8)) + " ".repeat(column % 8);
}

/**
 * `head` then `pieces` separated by spaces, broken between pieces where a line would pass
 * 80 columns; continuation lines start with `align` (default: aligned with the end of `head`).
 */
function wrapPieces(
  head: string,
  pieces: string[],
  tail: string,
  align = alignTo(lineWidth(head)),
): string[] {
  const lines: string[] = [];
  let line = head;
  pieces.forEach((piece, i) => {
    const text = i === pieces.length - 1 ? `${piece}${tail}` : piece;
    if (i > 0 && lineWidth(`${line} ${text}`) > COLUMNS) {
      lines.push(line);
      line = `${align}${text}`;
    } else {
      line += i > 0 ? ` ${text}` : text;
    }
  });
  lines.push(line);
  return lines;
}

/** `prefix(a, b, c)suffix`, wrapped after commas. */
export function wrapCall(prefix: string, args: string[], suffix: string, indent = ""): string {
  const pieces = args.map((arg, i) => (i < args.length - 1 ? `${arg},` : arg));
  return wrapPieces(`${indent}${prefix}(`, pieces, `)${suffix}`).join("\n");
}

/**
 * The operands of a C condition, each with the && or || after it, split at parenthesis
 * depth `maxDepth` or less (never inside a string).
 */
function splitAfterOperators(text: string, maxDepth: number): string[] {
  const pieces: string[] = [];
  let start = 0;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (depth <= maxDepth && (text.startsWith(" && ", i) || text.startsWith(" || ", i))) {
      pieces.push(text.slice(start, i + 3));
      start = i + 4;
    }
  }
  pieces.push(text.slice(start));
  return pieces;
}

/**
 * `if (condition) {` broken after the top-level && and || where it would pass 80 columns,
 * and inside parentheses only where an operand alone would.
 */
export function ifLine(indent: string, condition: string, tail = ") {"): string[] {
  const head = `${indent}if (`;
  const room = COLUMNS - lineWidth(head) - tail.length;
  const pieces = splitAfterOperators(condition, 0).flatMap((piece) =>
    piece.length > room ? splitAfterOperators(piece, Infinity) : [piece],
  );
  return wrapPieces(head, pieces, tail);
}

/** `text` as comment lines (` *<lead>...`), word-wrapped at 80 columns. */
export function commentLines(text: string, lead: string): string[] {
  const words = text.split(/\s+/).filter((w) => w !== "");
  const head = ` *${lead}`;
  const pieces = words.flatMap((w) => w.match(/.{1,60}/g) ?? []);
  return pieces.length === 0 ? [" *"] : wrapPieces(head, pieces, "", head);
}
