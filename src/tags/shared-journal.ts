/**
 * The delete journal shared by replicas (state.redisUrl): every intent is also
 * kept in shared state until its outcome, so that when a replica dies mid-swap
 * any other replica's periodic sweep finishes (or closes) the swap it left. The
 * local file journal stays the durable record of each replica (start-up recovery
 * reads it); the shared copy lists what is unfinished, and keeps the last intents
 * of each tag so that `restore` on any replica finds a delete another one made.
 */
import type { IntentEntry, Journal, JournalEntry } from "./journal.js";
import { CoordinationError } from "./locks.js";

export interface SharedIntent {
  intent: IntentEntry;
  /** The replica that wrote it. */
  replica: string;
}

/** Where unfinished intents are shared (src/state/redis-journal.ts). */
export interface SharedJournal {
  /** This replica's id. */
  readonly replica: string;
  add(intent: IntentEntry): Promise<void>;
  /** Drops a finished intent (best effort: a leftover is only looked at again). */
  finish(id: string): Promise<void>;
  /** Every unfinished intent, of every replica. */
  unfinished(): Promise<SharedIntent[]>;
  /** Whether `id` is still unfinished. */
  has(id: string): Promise<boolean>;
  /** The newest intent for the tag that recorded an original manifest (any replica's), or null. */
  latestFor(repository: string, tag: string): Promise<IntentEntry | null>;
}

/**
 * A journal that writes the local file first, then shares the intent (or drops it on
 * its outcome). An intent that cannot be shared (Redis unreachable) fails with a
 * CoordinationError: nothing upstream was changed yet, and the caller answers as for
 * any other shared-state failure (503).
 */
export function teeJournal(local: Journal, shared: SharedJournal): Journal {
  return {
    path: local.path,
    async append(entry: JournalEntry, options) {
      await local.append(entry, options);
      if (entry.type !== "intent") {
        await shared.finish(entry.id).catch(() => {});
        return;
      }
      try {
        await shared.add(entry);
      } catch (err) {
        throw new CoordinationError(
          `redis unavailable (shared journal): ${(err as Error).message}`,
          "unavailable",
        );
      }
    },
    read: () => local.read(),
    close: () => local.close(),
  };
}
