/**
 * The connection to the Redis that several proxy replicas share (state.redisUrl):
 * one connection for commands, one for pub/sub (ioredis reconnects both and
 * re-subscribes by itself). Commands never queue while Redis is unreachable
 * (enableOfflineQueue off): they fail at once, so a write that needs a lock
 * answers 503 instead of hanging. Readiness notes say when Redis is unreachable.
 */
import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import type { Redis } from "ioredis";
import type { Readiness } from "../ops/health.js";
import type { Logger } from "../ops/logger.js";

export const READINESS_NOTE_KEY = "redis";

export interface SharedState {
  /** Commands (locks, stamps, publish). */
  readonly redis: Redis;
  /** Subscriptions only. */
  readonly subscriber: Redis;
  /** Key prefix: one namespace per upstream, so fleets in front of other registries never meet. */
  readonly prefix: string;
  /** This replica's id (its own broadcasts are skipped). */
  readonly instance: string;
  readonly leaseMs: number;
  /** Resolves once connected, or after `timeoutMs` (the proxy serves reads either way). */
  connected(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export interface SharedStateOptions {
  url: string;
  leaseMs: number;
  /** The upstream origin the keys are namespaced by. */
  upstreamOrigin: string;
  logger: Logger;
  readiness: Readiness;
}

/** `host:port` of a Redis URL, for logs and readiness (never the password). */
export function redisEndpoint(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port || "6379"}`;
}

/** Throws when `url` is not a redis:// or rediss:// URL. */
export function checkRedisUrl(url: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    // Not repeated: it may hold a password.
    throw new Error("state.redisUrl must be a redis:// or rediss:// URL (it does not parse as a URL)");
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") {
    throw new Error(`state.redisUrl must use redis:// or rediss://, got ${u.protocol}`);
  }
}

/**
 * ioredis, loaded on the first connection: a proxy without `state.redisUrl` never
 * loads it (about 8 MiB of resident memory for its code, docs/performance.md).
 */
function redisClass(): typeof Redis {
  return (createRequire(import.meta.url)("ioredis") as typeof import("ioredis")).Redis;
}

export function connectSharedState(o: SharedStateOptions): SharedState {
  checkRedisUrl(o.url);
  const Redis = redisClass();
  const where = redisEndpoint(o.url);
  const common = {
    // Reconnect for ever, at most every 2 s; a command while disconnected fails at once.
    retryStrategy: (times: number) => Math.min(100 * times, 2000),
    connectTimeout: 2000,
    commandTimeout: 2000,
    maxRetriesPerRequest: 0,
  } as const;
  const redis = new Redis(o.url, { ...common, enableOfflineQueue: false });
  // Subscriptions queue until connected (and are replayed after a reconnect).
  const subscriber = new Redis(o.url, { ...common, enableOfflineQueue: true, commandTimeout: undefined });
  let lastError = "not connected yet";
  let warned = false;
  let closing = false;
  o.readiness.notes.set(READINESS_NOTE_KEY, `redis ${where}: ${lastError}; tag deletes answer 503`);
  redis.on("ready", () => {
    o.readiness.notes.delete(READINESS_NOTE_KEY);
    if (warned) o.logger.info({ redis: where }, "redis reachable again");
    warned = false;
  });
  const down = (reason: string) => {
    if (closing) return;
    lastError = reason;
    o.readiness.notes.set(
      READINESS_NOTE_KEY,
      `redis ${where} unreachable (${lastError}); tag deletes answer 503`,
    );
    if (!warned) o.logger.warn({ redis: where, reason }, "redis unreachable: tag deletes answer 503");
    warned = true;
  };
  redis.on("error", (err: Error) => down(err.message));
  redis.on("close", () => down("connection closed"));
  subscriber.on("error", () => {}); // reported through the command connection

  return {
    redis,
    subscriber,
    prefix: `rcp:${o.upstreamOrigin}:`,
    instance: randomUUID(),
    leaseMs: o.leaseMs,
    connected(timeoutMs) {
      if (redis.status === "ready") return Promise.resolve(true);
      return new Promise((resolve) => {
        const timer = setTimeout(() => done(false), timeoutMs);
        const onReady = () => done(true);
        function done(ok: boolean) {
          clearTimeout(timer);
          redis.off("ready", onReady);
          resolve(ok);
        }
        redis.once("ready", onReady);
      });
    },
    async close() {
      closing = true;
      redis.disconnect();
      subscriber.disconnect();
    },
  };
}

/**
 * Listens for the JSON messages other replicas publish on `channel` (this
 * replica's own, and anything that is not JSON, are skipped); returns the
 * function that stops listening.
 */
export function onReplicaMessages<T extends { from?: unknown }>(
  shared: SharedState,
  channel: string,
  handle: (message: T) => void,
): () => void {
  const listener = (ch: string, raw: string) => {
    if (ch !== channel) return;
    let m: T;
    try {
      m = JSON.parse(raw) as T;
    } catch {
      return;
    }
    if (m === null || typeof m !== "object" || m.from === shared.instance) return;
    handle(m);
  };
  shared.subscriber.on("message", listener);
  return () => shared.subscriber.off("message", listener);
}
