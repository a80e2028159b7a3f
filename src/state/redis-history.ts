/**
 * The tag history in Redis (state.redisUrl): every replica records into, and
 * reads, one history. Keys, under the replicas' prefix (one namespace per upstream):
 *
 *   history:log:<repo>              list of events, oldest first (RPUSH), trimmed to the cap,
 *                                   expiring one retention after its last change
 *   history:repos                   sorted set: repository -> time of its last change (ms)
 *   history:manifest:<repo>@<dgst>  a kept manifest {"mediaType","bytes"}, expiring with the retention
 *
 * An append is one MULTI (the manifests, the event, the trim, the expiry, the
 * index). A purge rewrites a repository's list in one script that first checks
 * the list is still the one it read (its length and last entry): an append from
 * another replica meanwhile makes it read and compute again.
 */
import { asHistoryEvent, type HistoryEvent } from "../history/events.js";
import { digestsReferenced, purgeEvents } from "../history/queries.js";
import {
  decodeManifest,
  encodeManifest,
  type HistoryStore,
  type RepositorySummary,
  type StoreBounds,
} from "../history/store.js";
import type { SharedState } from "./redis.js";

/** Replaces the list KEYS[1] with ARGV[3..] when its length is ARGV[1] and its last entry ARGV[2]. */
const REPLACE_IF_UNCHANGED = `
if redis.call('LLEN', KEYS[1]) ~= tonumber(ARGV[1]) then return 0 end
local last = redis.call('LINDEX', KEYS[1], -1)
if (last or '') ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
for i = 3, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
return 1`;

const PURGE_ATTEMPTS = 10;

function parse(raw: string): HistoryEvent | null {
  try {
    return asHistoryEvent(JSON.parse(raw));
  } catch {
    return null;
  }
}

async function checked(results: Array<[Error | null, unknown]> | null): Promise<void> {
  const failed = results?.find(([err]) => err !== null)?.[0];
  if (results === null || failed) throw failed ?? new Error("redis transaction discarded");
}

export function createRedisHistory(shared: SharedState, bounds: StoreBounds): HistoryStore {
  const now = bounds.now ?? Date.now;
  const { redis } = shared;
  const logKey = (repo: string) => `${shared.prefix}history:log:${repo}`;
  const reposKey = `${shared.prefix}history:repos`;
  const manifestKey = (repo: string, digest: string) => `${shared.prefix}history:manifest:${repo}@${digest}`;

  async function read(repository: string): Promise<{ raw: string[]; events: HistoryEvent[] }> {
    const raw = await redis.lrange(logKey(repository), 0, -1);
    const oldest = now() - bounds.retainMs;
    const events: HistoryEvent[] = [];
    let expired = 0;
    for (const line of raw) {
      const e = parse(line);
      if (e === null) continue;
      if (Date.parse(e.time) < oldest) expired++;
      else events.push(e);
    }
    // Entries past the retention go (best effort; the list's own expiry catches the rest).
    if (expired > 0 && expired === raw.length - events.length) {
      await redis.ltrim(logKey(repository), expired, -1).catch(() => {});
    }
    return { raw, events };
  }

  async function repositories(): Promise<RepositorySummary[]> {
    const flat = await redis.zrevrange(reposKey, 0, -1, "WITHSCORES");
    const oldest = now() - bounds.retainMs;
    const out: RepositorySummary[] = [];
    const gone: string[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const repository = flat[i]!;
      const at = Number(flat[i + 1]);
      if (at < oldest) gone.push(repository);
      else out.push({ repository, lastChange: new Date(at).toISOString() });
    }
    if (gone.length > 0) await redis.zrem(reposKey, ...gone).catch(() => 0);
    return out;
  }

  return {
    async append(event, manifests = []) {
      const key = logKey(event.repository);
      const tx = redis.multi();
      for (const m of manifests)
        tx.set(manifestKey(m.repository, m.digest), encodeManifest(m), "PX", bounds.retainMs);
      tx.rpush(key, JSON.stringify(event))
        .ltrim(key, -bounds.maxPerRepository, -1)
        .pexpire(key, bounds.retainMs)
        .zadd(reposKey, Date.parse(event.time), event.repository);
      await checked(await tx.exec());
    },
    async events(repository) {
      return (await read(repository)).events;
    },
    repositories,
    async manifest(repository, digest) {
      const text = await redis.get(manifestKey(repository, digest));
      return text === null ? null : decodeManifest(repository, digest, text);
    },
    async purge(marker) {
      const key = logKey(marker.repository);
      for (let attempt = 0; attempt < PURGE_ATTEMPTS; attempt++) {
        const { raw, events } = await read(marker.repository);
        const { kept, removed } = purgeEvents(events, marker.tag);
        const full = { ...marker, removed };
        const lines = [...kept, full].map((e) => JSON.stringify(e));
        const replaced = await redis.eval(
          REPLACE_IF_UNCHANGED,
          1,
          key,
          raw.length,
          raw.at(-1) ?? "",
          ...lines,
        );
        if (replaced !== 1) continue;
        const still = digestsReferenced(kept);
        const dropped = [...digestsReferenced(events)].filter((d) => !still.has(d));
        const tx = redis
          .multi()
          .pexpire(key, bounds.retainMs)
          .zadd(reposKey, Date.parse(full.time), marker.repository);
        for (const d of dropped) tx.del(manifestKey(marker.repository, d));
        await checked(await tx.exec());
        return removed;
      }
      throw new Error(`history purge of ${marker.repository}: the list kept changing; retry`);
    },
    async sweep() {
      // Entries and manifests expire with their keys; the index forgets repositories past the retention.
      await repositories();
    },
    async close() {
      // The connection belongs to the replicas' shared state.
    },
  };
}
