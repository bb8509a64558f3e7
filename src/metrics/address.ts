// Where a /metrics endpoint listens, parsed from `--metrics [HOST]:PORT` or `:metrics PORT`.
// Apart from the server so that parsing a flag does not load node:http (~3 MB of every run).

/** Where to listen: `[HOST]:PORT`; no host means every interface. */
export interface ListenAddress {
  host: string | undefined;
  port: number;
}

/** A flag value that is not `[HOST]:PORT`: the caller reports it as a usage error. */
export class AddressError extends Error {}

/**
 * ":9464", "127.0.0.1:9464", "[::1]:9464", "localhost:9464"; port 0 picks a free one.
 * `what` names the flag or command in the error.
 */
export function parseListenAddress(text: string, what = "--metrics"): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) {
    throw new AddressError(
      `${what} expects [HOST]:PORT such as :9464 or 127.0.0.1:9464, not '${text}'`,
    );
  }
  const host = m[1] ?? (m[2] === "" ? undefined : m[2]);
  return { host, port };
}

/** `9464` (every interface, as `:9464`), `:9464`, `127.0.0.1:9464`, `[::1]:9464`. */
export function parseShellAddress(text: string): ListenAddress {
  return parseListenAddress(/^\d+$/.test(text) ? `:${text}` : text, ":metrics");
}
