/**
 * The shared list of unfinished tag swaps (tags/shared-journal.ts) in Redis: one
 * hash, intent id -> the intent and the replica that wrote it.
 */
import type { IntentEntry } from "../tags/journal.js";
import type { SharedIntent, SharedJournal } from "../tags/shared-journal.js";
import type { SharedState } from "./redis.js";

export function createRedisJournal(shared: SharedState): SharedJournal {
  const key = `${shared.prefix}journal`;
  return {
    replica: shared.instance,
    async add(intent: IntentEntry) {
      await shared.redis.hset(key, intent.id, JSON.stringify({ intent, replica: shared.instance }));
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
