// The prompt's line editing as pure functions on { text, cursor }: insert, delete, move,
// kill, the readline keys a shell user expects. No rendering, no terminal.

export interface Line {
  text: string;
  /** Index in `text` (0..text.length) before which the next character is inserted. */
  cursor: number;
}

export const EMPTY_LINE: Line = { text: "", cursor: 0 };

export function lineOf(text: string): Line {
  return { text, cursor: text.length };
}

export function insertText(line: Line, text: string): Line {
  const { cursor } = line;
  return {
    text: line.text.slice(0, cursor) + text + line.text.slice(cursor),
    cursor: cursor + text.length,
  };
}

export function deleteBackward(line: Line): Line {
  if (line.cursor === 0) return line;
  return {
    text: line.text.slice(0, line.cursor - 1) + line.text.slice(line.cursor),
    cursor: line.cursor - 1,
  };
}

export function deleteForward(line: Line): Line {
  if (line.cursor >= line.text.length) return line;
  return {
    text: line.text.slice(0, line.cursor) + line.text.slice(line.cursor + 1),
    cursor: line.cursor,
  };
}

export function moveCursor(line: Line, delta: number): Line {
  return { ...line, cursor: Math.max(0, Math.min(line.text.length, line.cursor + delta)) };
}

export function moveHome(line: Line): Line {
  return { ...line, cursor: 0 };
}

export function moveEnd(line: Line): Line {
  return { ...line, cursor: line.text.length };
}

/** Ctrl-U: everything before the cursor goes. */
export function killToStart(line: Line): Line {
  return { text: line.text.slice(line.cursor), cursor: 0 };
}

/** Ctrl-K: everything from the cursor on goes. */
export function killToEnd(line: Line): Line {
  return { text: line.text.slice(0, line.cursor), cursor: line.cursor };
}

/** Ctrl-W: the word before the cursor (and the blanks after it) goes. */
export function killWordBackward(line: Line): Line {
  const before = line.text.slice(0, line.cursor);
  const kept = before.replace(/\S+\s*$|\s+$/, "");
  return { text: kept + line.text.slice(line.cursor), cursor: kept.length };
}

/** Alt-B / Alt-F and Ctrl-arrows: jump over one word. */
export function moveWord(line: Line, direction: -1 | 1): Line {
  const { text } = line;
  let i = line.cursor;
  if (direction < 0) {
    while (i > 0 && /\s/.test(text[i - 1])) i--;
    while (i > 0 && !/\s/.test(text[i - 1])) i--;
  } else {
    while (i < text.length && /\s/.test(text[i])) i++;
    while (i < text.length && !/\s/.test(text[i])) i++;
  }
  return { ...line, cursor: i };
}
