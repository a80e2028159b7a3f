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

/** One replica's side of the shared window: its keys, its local window and the lease it adopted. */
interface Replica {
  o: SharedWindowOptions;
  redis: SharedState["redis"];
  me: string;
  key: string;
  channel: string;
  replicasKey: string;
  heartbeatKey(id: string): string;
  ackKey(lease: string, id: string): string;
  /** The lease this replica took on from Redis (dropped when the key is found gone). */
  adopted: string | null;
}

function replicaOf(o: SharedWindowOptions): Replica {
  const { prefix, redis, instance } = o.shared;
  return {
    o,
    redis,
    me: instance,
    key: `${prefix}window`,
    channel: `${prefix}window-events`,
    replicasKey: `${prefix}replicas`,
    heartbeatKey: (id) => `${prefix}replica:${id}`,
    ackKey: (lease, id) => `${prefix}window:${lease}:ack:${id}`,
    adopted: null,
  };
}

const clamp = (r: Replica, ms: number) => Math.max(1, Math.min(ms, r.o.maxLeaseMs));

/** A Redis command; its failure is the window's: WindowUnavailableError (503). */
async function ask<T>(what: string, command: () => Promise<T>): Promise<T> {
  try {
    return await command();
  } catch (err) {
    throw new WindowUnavailableError(
      `read-only window: redis unavailable (${what}): ${(err as Error).message}`,
    );
  }
}

/** Closes this replica's window with a lease entered here or elsewhere, until `ttlMs` from now. */
function adopt(r: Replica, lease: Record_, ttlMs: number): void {
  r.adopted = lease.id;
  r.o.window.adopt({ ...lease, expiresAt: Date.now() + ttlMs });
}

function publish(r: Replica, type: Message["type"], lease: Record_, ttlMs: number) {
  return ask("publish", () => r.redis.publish(r.channel, JSON.stringify({ from: r.me, type, lease, ttlMs })));
}

/** The other replicas whose heartbeat is live (dead ones are dropped from the set). */
async function liveReplicas(r: Replica): Promise<string[]> {
  const ids = (await ask("replicas", () => r.redis.smembers(r.replicasKey))).filter((id) => id !== r.me);
  if (ids.length === 0) return [];
  const beats = await ask("replicas", () => r.redis.mget(ids.map(r.heartbeatKey)));
  const dead = ids.filter((_, i) => beats[i] === null);
  if (dead.length > 0) r.redis.srem(r.replicasKey, ...dead).catch(() => {});
  return ids.filter((_, i) => beats[i] !== null);
}

async function waitForAcks(r: Replica, lease: string, replicas: string[], waitMs: number) {
  const deadline = Date.now() + waitMs + ACK_MARGIN_MS;
  const inFlight: Record<string, number> = {};
  let missing = replicas;
  while (missing.length > 0) {
    const acks = await ask("acks", () => r.redis.mget(missing.map((id) => r.ackKey(lease, id))));
    missing.forEach((id, i) => {
      if (acks[i] !== null) inFlight[id] = Number(acks[i]);
    });
    missing = missing.filter((_, i) => acks[i] === null);
    if (missing.length === 0 || Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, ACK_POLL_MS));
  }
  return { missing, inFlight };
}

async function enter(r: Replica, holder: string, leaseMs: number, waitMs: number) {
  const { redis, key } = r;
  const ms = clamp(r, leaseMs);
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
  adopt(r, lease, ttl);
  try {
    await publish(r, "enter", lease, ttl);
    const [replicas, gaveUpOn] = await Promise.all([
      liveReplicas(r).then((ids) => waitForAcks(r, lease.id, ids, waitMs)),
      r.o.window.settle(waitMs),
    ]);
    const renewed = await renew(r, lease.id, ms);
    if (renewed === null)
      throw new WindowUnavailableError("read-only window: the lease was lost while entering");
    return { ok: true as const, lease: renewed, gaveUpOn, replicas };
  } catch (err) {
    // Not entered everywhere: open it again where it can be (Redis may be gone).
    await redis.eval(LEAVE, 1, key, lease.id).catch(() => {});
    await redis
      .publish(r.channel, JSON.stringify({ from: r.me, type: "leave", lease, ttlMs: 0 }))
      .catch(() => {});
    r.o.window.drop(lease.id);
    throw err;
  }
}

async function renew(r: Replica, token: string, leaseMs: number): Promise<Lease | null> {
  const ms = clamp(r, leaseMs);
  const raw = (await ask("renew", () => r.redis.eval(RENEW, 1, r.key, token, ms))) as string | null;
  if (raw === null) return null;
  const lease = JSON.parse(raw) as Record_;
  adopt(r, lease, ms);
  await publish(r, "renew", lease, ms);
  return { ...lease, expiresAt: Date.now() + ms };
}

async function leave(r: Replica, token: string): Promise<boolean> {
  const left = Number(await ask("leave", () => r.redis.eval(LEAVE, 1, r.key, token)));
  if (left !== 1) return false;
  r.o.window.drop(token);
  await r.redis
    .publish(r.channel, JSON.stringify({ from: r.me, type: "leave", lease: { id: token }, ttlMs: 0 }))
    .catch((err: Error) =>
      r.o.logger.warn({ err }, "read-only window: leave not published (replicas reopen at expiry)"),
    );
  return true;
}

/** Another replica entered, renewed or left: this one follows (and acks an enter once its writes settled). */
function onMessage(r: Replica, m: Message): void {
  if (typeof m.lease?.id !== "string") return;
  if (m.type === "leave") {
    r.o.window.drop(m.lease.id);
    return;
  }
  adopt(r, m.lease, m.ttlMs);
  if (m.type !== "enter") return;
  void r.o.window
    .settle(r.o.writeWaitMs)
    .then((left) => r.redis.set(r.ackKey(m.lease.id, r.me), String(left.length), "PX", m.ttlMs))
    .catch((err: Error) => r.o.logger.warn({ err }, "read-only window: cannot acknowledge entering"));
}

/** Start-up and reconnect: the window as Redis has it (messages may have been missed). */
async function sync(r: Replica): Promise<void> {
  // Not connected yet (the subscriber can be ready first): the command connection's
  // own "ready" syncs then. A command now would only fail (no offline queue).
  if (r.redis.status !== "ready") return;
  try {
    const [raw, pttl] = await Promise.all([r.redis.get(r.key), r.redis.pttl(r.key)]);
    if (raw !== null && pttl > 0) adopt(r, JSON.parse(raw) as Record_, pttl);
    else if (r.adopted !== null) r.o.window.drop(r.adopted);
  } catch (err) {
    r.o.logger.warn({ err }, "read-only window: cannot read the shared window");
  }
}

/** Heartbeats, the window's events and a read at every (re)connect; returns the function that stops them. */
function follow(r: Replica): () => void {
  const { shared, logger } = r.o;
  const heartbeat = () => {
    r.redis
      .multi()
      .sadd(r.replicasKey, r.me)
      .set(r.heartbeatKey(r.me), "1", "PX", HEARTBEAT_TTL_MS)
      .exec()
      .catch(() => {});
  };
  const onReady = () => {
    heartbeat();
    void sync(r);
  };
  const onSubscriberReady = () => void sync(r);
  r.redis.on("ready", onReady);
  if (r.redis.status === "ready") onReady();
  const beating = setInterval(heartbeat, HEARTBEAT_MS);
  beating.unref();
  const stopListening = onReplicaMessages<Message>(shared, r.channel, (m) => onMessage(r, m));
  // Read again once subscribed (and at every reconnect of the subscriber): nothing missed in between.
  shared.subscriber.on("ready", onSubscriberReady);
  shared.subscriber.subscribe(r.channel).then(
    () => sync(r),
    (err: Error) => logger.warn({ err }, "redis: cannot subscribe to read-only window events"),
  );
  return () => {
    clearInterval(beating);
    r.redis.off("ready", onReady);
    stopListening();
    shared.subscriber.off("ready", onSubscriberReady);
  };
}

export function createSharedWindow(o: SharedWindowOptions): SharedWindow {
  const r = replicaOf(o);
  const stop = follow(r);
  return {
    enter: (holder, leaseMs, waitMs) => enter(r, holder, leaseMs, waitMs),
    renew: (token, leaseMs) => renew(r, token, leaseMs),
    leave: (token) => leave(r, token),
    state: () => o.window.state(),
    async close() {
      stop();
      await r.redis
        .multi()
        .srem(r.replicasKey, r.me)
        .del(r.heartbeatKey(r.me))
        .exec()
        .catch(() => {});
    },
  };
}
