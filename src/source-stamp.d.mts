// Types of scripts/source-stamp.mjs (plain JavaScript: bin/ltsh.js loads it before any TypeScript).
export declare function sourceStampOf(checkout: string): {
  files: number;
  newest: number;
  text: string;
};
