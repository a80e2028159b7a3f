/**
 * The shared list of unfinished tag swaps (tags/shared-journal.ts) in Redis: one
 * hash, intent id -> the intent and the replica that wrote it; and per tag, a
 * list of its last HISTORY intents (newest first) for `restore`.
 */
import type { IntentEntry } from "../tags/journal.js";
import type { SharedIntent, SharedJournal } from "../tags/shared-journal.js";
import type { SharedState } from "./redis.js";

/** Intents kept per tag for `restore` (a tag deleted and pushed again many times keeps the last ones). */
const HISTORY = 20;

export function createRedisJournal(shared: SharedState): SharedJournal {
  const key = `${shared.prefix}journal`;
  const historyKey = (repository: string, tag: string) => `${shared.prefix}journal-tag:${repository}:${tag}`;
  return {
    replica: shared.instance,
    async add(intent: IntentEntry) {
      const history = historyKey(intent.repository, intent.tag);
      const results = await shared.redis
        .multi()
        .hset(key, intent.id, JSON.stringify({ intent, replica: shared.instance }))
        .lpush(history, JSON.stringify(intent))
        .ltrim(history, 0, HISTORY - 1)
        .exec();
      const failed = results?.find(([err]) => err !== null)?.[0];
      if (results === null || failed) throw failed ?? new Error("redis transaction discarded");
    },
    async latestFor(repository, tag) {
      for (const raw of await shared.redis.lrange(historyKey(repository, tag), 0, HISTORY - 1)) {
        try {
          const intent = JSON.parse(raw) as IntentEntry;
          if (intent?.type === "intent" && intent.originalDigest !== null) return intent;
        } catch {
          // not ours: skipped
        }
      }
      return null;
    },
    async finish(id) {
      await shared.redis.hdel(key, id);
    },
    async unfinished() {
      const all = await shared.redis.hgetall(key);
      const out: SharedIntent[] = [];
      for (const raw of Object.values(all)) {
        try {
          const v = JSON.parse(raw) as SharedIntent;
          if (v?.intent?.type === "intent" && typeof v.replica === "string") out.push(v);
        } catch {
          // not ours: skipped
        }
      }
      return out;
    },
    async has(id) {
      return (await shared.redis.hexists(key, id)) === 1;
    },
  };
}
