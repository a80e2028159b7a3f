/**
 * The proxy under test, in process on port 0 in front of a given upstream.
 */
import { Writable } from "node:stream";
import { type Config, loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/ops/logger.js";
import { createProxyServer, type ProxyServer } from "../../src/server.js";

export interface TestProxy {
  readonly url: string;
  readonly port: number;
  readonly proxy: ProxyServer;
  readonly config: Config;
  /** Log lines written so far (JSON). */
  logs(): string[];
  stop(): Promise<void>;
}

export async function startProxy(
  upstreamUrl: string,
  overrides: Record<string, unknown> = {},
  options: { host?: string } = {},
): Promise<TestProxy> {
  const config = loadConfig({
    env: {},
    overrides: { ...overrides, upstream: { url: upstreamUrl, ...(overrides["upstream"] as object) } },
  });
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split("\n").filter(Boolean));
      cb();
    },
  });
  const logger = createLogger(process.env["TEST_LOG_LEVEL"] ?? "debug", sink);
  const proxy = createProxyServer({ config, upstreamUrl, logger });
  const addr = await proxy.listen(0, options.host ?? "127.0.0.1");
  return {
    url: proxy.url(),
    port: addr.port,
    proxy,
    config,
    logs: () => [...lines],
    stop: () => proxy.close(),
  };
}
