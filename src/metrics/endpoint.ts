// The shell's `:metrics`: a /metrics endpoint started, moved and stopped while the shell
// runs, always reading the shell's current session (which a `set` line may reopen).

import type { ListenAddress } from "./address.ts";
import type { MetricsServer, SummarySource } from "./server.ts";

export class MetricsEndpoint {
  private server: MetricsServer | null = null;

  constructor(
    private readonly source: SummarySource,
    /** ltsh's version, for ltsh_build_info. */
    private readonly version: string,
  ) {}

  /** "127.0.0.1:9464" while serving (the port bound, when 0 was asked), else null. */
  get where(): string | null {
    return this.server ? new URL(this.server.url).host : null;
  }

  get url(): string | null {
    return this.server?.url ?? null;
  }

  /**
   * Serves at `address`. Already serving elsewhere: the new endpoint opens first and the old
   * one closes only then, so a failure (a port in use) leaves the old one serving; on the
   * same port the old one must close first.
   */
  async serve(address: ListenAddress): Promise<string> {
    if (this.server && new URL(this.server.url).port === String(address.port)) await this.stop();
    // node:http (~3 MB) loads with the first endpoint, not with the shell
    const { startMetricsServer } = await import("./server.ts");
    const next = await startMetricsServer(address, this.version);
    next.setSource(this.source);
    const previous = this.server;
    this.server = next;
    await previous?.close();
    return next.url;
  }

  /** Stops serving; the URL it served at, or null when it was not serving. */
  async stop(): Promise<string | null> {
    const { server } = this;
    this.server = null;
    await server?.close();
    return server?.url ?? null;
  }
}
