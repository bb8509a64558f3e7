// The `GET /metrics` endpoint of `ltsh run --metrics` and `ltsh serve`: node:http on the
// address given, answering each scrape from the session's current summaries. A scrape reads
// the counters and maps the backend already keeps; nothing is added per event.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { SummaryRecord } from "../records/types.ts";
import type { ListenAddress } from "./address.ts";
import { CONTENT_TYPE, renderMetrics } from "./exposition.ts";

/** Listening failed (the port is taken, the host is not this machine's): one line says why. */
export class ListenError extends Error {}

/** The summaries to expose, read at each scrape (a session's stats(), every tracker). */
export type SummarySource = () => readonly SummaryRecord[];

export interface MetricsServer {
  /** "http://127.0.0.1:9464/metrics", with the port actually bound. */
  readonly url: string;
  /** Replaces what scrapes read (serve swaps sessions on reload). */
  setSource(source: SummarySource): void;
  close(): Promise<void>;
}

/** Listens, or rejects with a ListenError naming the address and the reason. */
export async function startMetricsServer(
  address: ListenAddress,
  version: string,
): Promise<MetricsServer> {
  let source: SummarySource = () => [];
  const server = createServer((request, response) =>
    answer(request, response, () => renderMetrics(source(), { version })),
  );
  await listen(server, address);
  const bound = server.address() as AddressInfo;
  const host = bound.family === "IPv6" ? `[${bound.address}]` : bound.address;
  return {
    url: `http://${host}:${bound.port}/metrics`,
    setSource(next) {
      source = next;
    },
    close: () => closeServer(server),
  };
}

function answer(request: IncomingMessage, response: ServerResponse, render: () => string): void {
  const path = (request.url ?? "/").split("?")[0];
  if (path !== "/metrics") {
    response.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" });
    response.end("ltsh: the metrics are at /metrics\n");
    return;
  }
  if (request.method !== "GET" && request.method !== "HEAD") {
    response.writeHead(405, { Allow: "GET, HEAD" });
    response.end();
    return;
  }
  let body: string;
  try {
    body = render();
  } catch (error) {
    response.writeHead(500, { "Content-Type": "text/plain; charset=utf-8" });
    response.end(`ltsh: reading the counters failed: ${(error as Error).message}\n`);
    return;
  }
  response.writeHead(200, {
    "Content-Type": CONTENT_TYPE,
    "Content-Length": Buffer.byteLength(body),
  });
  response.end(request.method === "HEAD" ? undefined : body);
}

const LISTEN_ERRORS: Record<string, string> = {
  EADDRINUSE: "is in use (another ltsh or exporter listens there; pick another port)",
  EACCES: "is not permitted (ports below 1024 need CAP_NET_BIND_SERVICE)",
  EADDRNOTAVAIL: "is not an address of this machine",
  ENOTFOUND: "names no known host",
  EAI_AGAIN: "could not be resolved",
};

function listen(server: Server, address: ListenAddress): Promise<void> {
  const shown = `${address.host?.includes(":") ? `[${address.host}]` : (address.host ?? "")}:${address.port}`;
  return new Promise((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      const reason = LISTEN_ERRORS[error.code ?? ""] ?? `failed: ${error.message}`;
      reject(new ListenError(`cannot serve metrics on ${shown}: the address ${reason}`));
    });
    server.listen({ host: address.host, port: address.port }, () => resolve());
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Prometheus keeps its connection alive between scrapes: do not wait for it.
    server.closeAllConnections();
  });
}
