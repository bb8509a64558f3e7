// Character codes the hand-written trace scanners compare against (the replay hot path
// works on char codes and bytes, not on strings).

export const SPACE = 32;
export const OPEN_PAREN = 40;
export const CLOSE_PAREN = 41;
export const DASH = 45;
export const DOT = 46;
export const COLON = 58;
export const EQUALS = 61;
export const OPEN_BRACKET = 91;
export const CLOSE_BRACKET = 93;

export function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
