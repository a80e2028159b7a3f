/**
 * The proxy under test, in process on port 0 in front of a given upstream.
 * Each proxy gets its own temporary data directory and tag-delete journal
 * (unless the caller names them), removed on stop: tests never share a journal
 * with each other or with a developer's `./data`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

type Section = Record<string, unknown> | undefined;

export async function startProxy(
  upstreamUrl: string,
  overrides: Record<string, unknown> = {},
  options: { host?: string } = {},
): Promise<TestProxy> {
  const dir = mkdtempSync(join(tmpdir(), "rcp-proxy-"));
  const del = overrides["delete"] as Section;
  const embedded = overrides["embedded"] as Section;
  const log = overrides["log"] as Section;
  const config = loadConfig({
    env: {},
    overrides: {
      ...overrides,
      upstream: { url: upstreamUrl, ...(overrides["upstream"] as object) },
      delete: { journalPath: join(dir, "tag-delete-journal.jsonl"), ...del },
      embedded: { dataDir: join(dir, "data"), ...embedded },
    },
  });
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString().split("\n").filter(Boolean));
      cb();
    },
  });
  // The caller's log.level wins; otherwise TEST_LOG_LEVEL, else debug.
  const level =
    typeof log?.["level"] === "string" ? log["level"] : (process.env["TEST_LOG_LEVEL"] ?? "debug");
  const logger = createLogger(level, sink);
  const proxy = createProxyServer({ config, upstreamUrl, logger });
  let addr: Awaited<ReturnType<ProxyServer["listen"]>>;
  try {
    addr = await proxy.listen(0, options.host ?? "127.0.0.1");
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    url: proxy.url(),
    port: addr.port,
    proxy,
    config,
    logs: () => [...lines],
    stop: async () => {
      try {
        await proxy.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
