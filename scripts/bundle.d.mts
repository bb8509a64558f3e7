// Types of scripts/bundle.mjs (plain JavaScript: bin/ltsh.js loads it before any TypeScript).
export declare const ROOT: string;
export declare const BUNDLE_DIR: string;
export declare const BUNDLE: string;
export declare function sourceStamp(): string;
export declare function buildBundle(stamp?: string): Promise<void>;
export declare function install(temporary: string, stamp: string, dir?: string): void;
export declare function canBuild(): boolean;
export declare function bundleStamp(): string | null;
