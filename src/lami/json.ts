// LAMI's JSON: timestamps are nanoseconds since the epoch, past 2^53, so bigints are written
// as exact number literals (JSON.rawJSON) instead of being rounded through a double.

declare global {
  interface JSON {
    rawJSON(text: string): unknown;
  }
}

export function lamiJson(value: unknown): string {
  return JSON.stringify(value, (_key, item) =>
    typeof item === "bigint" ? JSON.rawJSON(item.toString()) : item,
  );
}
