/**
 * The upstream registry as a target: its URL, the passthrough's keep-alive agent
 * (with the CA bundle or client certificate for https), the same TLS settings for
 * the proxy's own registry client, and the origins it may name in absolute
 * URLs. Built once from the config.
 */
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type { Config } from "../config.js";
import type { RegistryClientOptions } from "../registry-client/client.js";
import { originSet } from "./rewrite.js";

/**
 * Buffering allowed per stream (sockets both ways, requests, responses) before
 * backpressure pauses the other side: one socket read (64 KiB). Node's default
 * (16 KiB) is below what a read delivers, so every chunk of a blob paused and
 * resumed its source; larger marks only let more chunks queue on the way, which
 * holds more memory per stream and measured no faster (docs/performance.md).
 */
export const STREAM_HIGH_WATER_MARK = 64 * 1024;

export interface UpstreamTarget {
  readonly url: URL;
  readonly agent: http.Agent;
  readonly isHttps: boolean;
  /** Lowercase origins the upstream may emit, to be rewritten to the proxy's. */
  readonly origins: ReadonlySet<string>;
  readonly requestTimeoutMs: number;
  /** Passthrough: idle time allowed before the response head (0: never). */
  readonly firstByteTimeoutMs: number;
  readonly idleTimeoutMs: number;
  /** Most sockets open to the upstream, for the passthrough's agent and the client's pool each. */
  readonly maxSockets: number;
  /** TLS options for requests when https. */
  readonly tls: { ca?: Buffer; cert?: Buffer; key?: Buffer };
}

export function createUpstreamTarget(config: Config, url: string): UpstreamTarget {
  const u = new URL(url);
  const isHttps = u.protocol === "https:";
  const tls: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
  if (config.upstream.caFile) tls.ca = readFileSync(config.upstream.caFile);
  if (config.upstream.clientCertFile && config.upstream.clientKeyFile) {
    tls.cert = readFileSync(config.upstream.clientCertFile);
    tls.key = readFileSync(config.upstream.clientKeyFile);
  }
  const agentOptions = {
    keepAlive: true,
    maxSockets: config.upstream.maxSockets,
    maxFreeSockets: config.upstream.maxFreeSockets,
    scheduling: "lifo" as const,
    highWaterMark: STREAM_HIGH_WATER_MARK,
  };
  const agent = isHttps ? new https.Agent({ ...agentOptions, ...tls }) : new http.Agent(agentOptions);
  return {
    url: u,
    agent,
    isHttps,
    origins: originSet([u.origin, ...config.upstream.publicOrigins]),
    requestTimeoutMs: config.upstream.requestTimeoutMs,
    firstByteTimeoutMs: config.upstream.firstByteTimeoutMs,
    idleTimeoutMs: config.upstream.idleTimeoutMs,
    maxSockets: config.upstream.maxSockets,
    tls,
  };
}

/** The registry client's options for the upstream: its URL, origins, deadline, connection limit and TLS. */
export function registryClientOptions(
  target: UpstreamTarget,
  onTransportError?: RegistryClientOptions["onTransportError"],
): RegistryClientOptions {
  return {
    url: target.url,
    origins: target.origins,
    timeoutMs: target.requestTimeoutMs,
    connections: target.maxSockets,
    tls: target.tls,
    ...(onTransportError ? { onTransportError } : {}),
  };
}
