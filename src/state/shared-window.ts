/**
 * The read-only window held on every replica (state.redisUrl; docs/gc.md, docs/replicas.md).
 *
 * - The window lives in Redis: key `window` = {id, holder, enteredAt} with a TTL equal
 *   to the lease (renew extends it, leave deletes it). Enter, renew and leave are
 *   published; every replica closes (or reopens) its own window on the message, and
 *   reads the key when its connection becomes ready (start-up, reconnect). Each
 *   replica's copy expires by itself on its own clock, so a dead holder never keeps
 *   the registry read-only.
 * - Entering waits for the writes in flight on every live replica: each replica,
 *   on the enter message, waits for its own writes (up to its maintenance.writeWaitMs)
 *   and then writes `window:<lease>:ack:<replica>` = the writes it still had. Live
 *   replicas announce themselves with a heartbeat key `replica:<id>` (TTL) listed in
 *   the set `replicas`. The entering replica waits until every live replica acked or
 *   its wait ends, and reports the ones that did not.
 * - Redis unreachable: entering, renewing and leaving fail (WindowUnavailableError,
 *   503) rather than pretend; a window already closed stays closed until its lease
 *   runs out on each replica.
 */
import { randomBytes } from "node:crypto";
import type { Logger } from "../ops/logger.js";
import {
  type Lease,
  type WindowControl,
  WindowUnavailableError,
  type WriteWindow,
} from "../ops/write-window.js";
import { onReplicaMessages, type SharedState } from "./redis.js";

const HEARTBEAT_MS = 1000;
const HEARTBEAT_TTL_MS = 3 * HEARTBEAT_MS;
/** A replica acks once its own wait ends: the entering one waits this much longer for it. */
const ACK_MARGIN_MS = 1000;
const ACK_POLL_MS = 25;

type Record_ = Omit<Lease, "expiresAt">;

interface Message {
  from: string;
  type: "enter" | "renew" | "leave";
  lease: Record_;
  ttlMs: number;
}

const RENEW = `
local v = redis.call('GET', KEYS[1])
if v and cjson.decode(v).id == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]); return v end
return false`;

const LEAVE = `
local v = redis.call('GET', KEYS[1])
if v and cjson.decode(v).id == ARGV[1] then redis.call('DEL', KEYS[1]); return 1 end
return 0`;

export interface SharedWindowOptions {
  shared: SharedState;
  /** This replica's window (what its listener enforces). */
  window: WriteWindow;
  maxLeaseMs: number;
  /** How long this replica waits for its own writes on another replica's enter. */
  writeWaitMs: number;
  logger: Logger;
}

export interface SharedWindow extends WindowControl {
  close(): Promise<void>;
}

export function createSharedWindow(o: SharedWindowOptions): SharedWindow {
  const { shared, window: local, logger } = o;
  const { redis, instance: me } = shared;
  const key = `${shared.prefix}window`;
  const channel = `${shared.prefix}window-events`;
  const replicasKey = `${shared.prefix}replicas`;
  const heartbeatKey = (id: string) => `${shared.prefix}replica:${id}`;
  const ackKey = (lease: string, id: string) => `${shared.prefix}window:${lease}:ack:${id}`;
  const clamp = (ms: number) => Math.max(1, Math.min(ms, o.maxLeaseMs));
  /** The lease this replica took on from Redis (dropped when the key is found gone). */
  let adopted: string | null = null;

  async function ask<T>(what: string, command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (err) {
      throw new WindowUnavailableError(
        `read-only window: redis unavailable (${what}): ${(err as Error).message}`,
      );
    }
  }
  function adopt(lease: Record_, ttlMs: number): void {
    adopted = lease.id;
    local.adopt({ ...lease, expiresAt: Date.now() + ttlMs });
  }
  const publish = (type: Message["type"], lease: Record_, ttlMs: number) =>
    ask("publish", () => redis.publish(channel, JSON.stringify({ from: me, type, lease, ttlMs })));

  /** The other replicas whose heartbeat is live (dead ones are dropped from the set). */
  async function liveReplicas(): Promise<string[]> {
    const ids = (await ask("replicas", () => redis.smembers(replicasKey))).filter((id) => id !== me);
    if (ids.length === 0) return [];
    const beats = await ask("replicas", () => redis.mget(ids.map(heartbeatKey)));
    const dead = ids.filter((_, i) => beats[i] === null);
    if (dead.length > 0) redis.srem(replicasKey, ...dead).catch(() => {});
    return ids.filter((_, i) => beats[i] !== null);
  }

  async function waitForAcks(lease: string, replicas: string[], waitMs: number) {
    const deadline = Date.now() + waitMs + ACK_MARGIN_MS;
    const inFlight: Record<string, number> = {};
    let missing = replicas;
    while (missing.length > 0) {
      const acks = await ask("acks", () => redis.mget(missing.map((id) => ackKey(lease, id))));
      missing.forEach((id, i) => {
        if (acks[i] !== null) inFlight[id] = Number(acks[i]);
      });
      missing = missing.filter((_, i) => acks[i] === null);
      if (missing.length === 0 || Date.now() >= deadline) break;
      await new Promise((r) => setTimeout(r, ACK_POLL_MS));
    }
    return { missing, inFlight };
  }

  async function enter(holder: string, leaseMs: number, waitMs: number) {
    const ms = clamp(leaseMs);
    const lease: Record_ = { id: randomBytes(16).toString("hex"), holder, enteredAt: Date.now() };
    // The lease cannot lapse while entering waits; it runs from the end of the wait.
    const ttl = waitMs + ACK_MARGIN_MS + ms;
    const set = await ask("enter", () => redis.set(key, JSON.stringify(lease), "PX", ttl, "NX"));
    if (set === null) {
      const [raw, pttl] = await ask("enter", () => Promise.all([redis.get(key), redis.pttl(key)]));
      const held = raw === null ? null : (JSON.parse(raw) as Record_);
      return {
        ok: false as const,
        heldBy: held?.holder ?? "unknown",
        expiresAt: Date.now() + Math.max(0, pttl),
      };
    }
    adopt(lease, ttl);
    try {
      await publish("enter", lease, ttl);
      const [replicas, gaveUpOn] = await Promise.all([
        liveReplicas().then((ids) => waitForAcks(lease.id, ids, waitMs)),
        local.settle(waitMs),
      ]);
      const renewed = await renew(lease.id, ms);
      if (renewed === null)
        throw new WindowUnavailableError("read-only window: the lease was lost while entering");
      return { ok: true as const, lease: renewed, gaveUpOn, replicas };
    } catch (err) {
      // Not entered everywhere: open it again where it can be (Redis may be gone).
      await redis.eval(LEAVE, 1, key, lease.id).catch(() => {});
      await redis
        .publish(channel, JSON.stringify({ from: me, type: "leave", lease, ttlMs: 0 }))
        .catch(() => {});
      local.drop(lease.id);
      throw err;
    }
  }

  async function renew(token: string, leaseMs: number): Promise<Lease | null> {
    const ms = clamp(leaseMs);
    const raw = (await ask("renew", () => redis.eval(RENEW, 1, key, token, ms))) as string | null;
    if (raw === null) return null;
    const lease = JSON.parse(raw) as Record_;
    adopt(lease, ms);
    await publish("renew", lease, ms);
    return { ...lease, expiresAt: Date.now() + ms };
  }

  async function leave(token: string): Promise<boolean> {
    const left = Number(await ask("leave", () => redis.eval(LEAVE, 1, key, token)));
    if (left !== 1) return false;
    local.drop(token);
    await redis
      .publish(channel, JSON.stringify({ from: me, type: "leave", lease: { id: token }, ttlMs: 0 }))
      .catch((err: Error) =>
        logger.warn({ err }, "read-only window: leave not published (replicas reopen at expiry)"),
      );
    return true;
  }

  const onMessage = (m: Message) => {
    if (typeof m.lease?.id !== "string") return;
    if (m.type === "leave") {
      local.drop(m.lease.id);
      return;
    }
    adopt(m.lease, m.ttlMs);
    if (m.type !== "enter") return;
    void local
      .settle(o.writeWaitMs)
      .then((left) => redis.set(ackKey(m.lease.id, me), String(left.length), "PX", m.ttlMs))
      .catch((err: Error) => logger.warn({ err }, "read-only window: cannot acknowledge entering"));
  };

  /** Start-up and reconnect: the window as Redis has it (messages may have been missed). */
  async function sync(): Promise<void> {
    // Not connected yet (the subscriber can be ready first): the command connection's
    // own "ready" syncs then. A command now would only fail (no offline queue).
    if (redis.status !== "ready") return;
    try {
      const [raw, pttl] = await Promise.all([redis.get(key), redis.pttl(key)]);
      if (raw !== null && pttl > 0) adopt(JSON.parse(raw) as Record_, pttl);
      else if (adopted !== null) local.drop(adopted);
    } catch (err) {
      logger.warn({ err }, "read-only window: cannot read the shared window");
    }
  }
  const heartbeat = () => {
    redis
      .multi()
      .sadd(replicasKey, me)
      .set(heartbeatKey(me), "1", "PX", HEARTBEAT_TTL_MS)
      .exec()
      .catch(() => {});
  };
  const onReady = () => {
    heartbeat();
    void sync();
  };
  const onSubscriberReady = () => void sync();
  redis.on("ready", onReady);
  if (redis.status === "ready") onReady();
  const beating = setInterval(heartbeat, HEARTBEAT_MS);
  beating.unref();
  const stopListening = onReplicaMessages<Message>(shared, channel, onMessage);
  // Read again once subscribed (and at every reconnect of the subscriber): nothing missed in between.
  shared.subscriber.on("ready", onSubscriberReady);
  shared.subscriber.subscribe(channel).then(
    () => sync(),
    (err: Error) => logger.warn({ err }, "redis: cannot subscribe to read-only window events"),
  );

  return {
    enter,
    renew,
    leave,
    state: () => local.state(),
    async close() {
      clearInterval(beating);
      redis.off("ready", onReady);
      stopListening();
      shared.subscriber.off("ready", onSubscriberReady);
      await redis
        .multi()
        .srem(replicasKey, me)
        .del(heartbeatKey(me))
        .exec()
        .catch(() => {});
    },
  };
}
