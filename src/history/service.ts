/**
 * The tag history service: created once per proxy (server.ts) and handed to the
 * handlers that record changes, the admin endpoints and the web UI.
 *
 *   record(change)                 one entry; never throws (a failure is logged and counted)
 *   tagEntries(repo, tag)          a tag's entries, newest first
 *   repositoryEntries(repo)        a repository's recent changes, newest first
 *   repositories()                 repositories with entries, most recently changed first
 *   held()                         the manifests the window holds (gc's roots)
 *   undelete({repo, tag, to?})     put a tag back (undelete.ts)
 *   purge(repo, tag?)              drop entries at once
 *
 * Bounds: `windowMs` (history.windowMs) is how long an entry holds its content;
 * entries stay listed, marked expired and holding nothing, for one more window
 * (so that an undelete can say why it cannot), and at most `maxPerRepository`
 * per repository. With `windowMs` 0 the history is off: nothing is recorded.
 */
import { randomUUID } from "node:crypto";
import { OciError } from "../oci/errors.js";
import type { Logger } from "../ops/logger.js";
import type { Metrics } from "../ops/metrics.js";
import type { HistoryChange, HistoryEvent, KeptManifest } from "./events.js";
import { entriesOf, type HeldManifest, type HistoryEntry, heldManifests } from "./queries.js";
import type { HistoryStore, RepositorySummary } from "./store.js";
import {
  checkInput,
  type UndeleteDeps,
  type UndeleteRequest,
  type UndeleteResult,
  undeleteTag,
} from "./undelete.js";

/** How many entries `repositoryEntries` gives without a limit. */
export const DEFAULT_LIMIT = 100;

export interface HeldSummary {
  windowMs: number;
  manifests: HeldManifest[];
}

export interface TagHistory {
  readonly enabled: boolean;
  readonly windowMs: number;
  record(change: HistoryChange, manifests?: readonly KeptManifest[]): Promise<void>;
  tagEntries(repository: string, tag: string): Promise<HistoryEntry[]>;
  repositoryEntries(repository: string, limit?: number): Promise<HistoryEntry[]>;
  repositories(): Promise<RepositorySummary[]>;
  held(): Promise<HeldSummary>;
  undelete(request: UndeleteRequest): Promise<UndeleteResult>;
  /** Drops the repository's entries (tag null) or one tag's; resolves with how many went. */
  purge(repository: string, tag: string | null, user: string | null): Promise<number>;
  close(): Promise<void>;
}

export interface TagHistoryOptions {
  /** null when the history is off (windowMs 0). */
  store: HistoryStore | null;
  windowMs: number;
  /** This replica's name in the entries it records. */
  replica: string;
  logger: Logger;
  metrics: Pick<Metrics, "historyEntries" | "historyFailures" | "undeletes">;
  undelete: UndeleteDeps;
  now?: () => number;
  /** How often the bounds are applied to the store (default 10 minutes; 0: never). */
  sweepIntervalMs?: number;
}

function historyOff(): OciError {
  return new OciError(
    "UNSUPPORTED",
    "the tag history is off (history.windowMs is 0)",
    { reason: "history-off" },
    { status: 404 },
  );
}

export function createTagHistory(o: TagHistoryOptions): TagHistory {
  const now = o.now ?? Date.now;
  const store = o.store;
  const windowMs = store === null ? 0 : o.windowMs;
  const on = (): HistoryStore => {
    if (store === null) throw historyOff();
    return store;
  };
  const interval = o.sweepIntervalMs ?? 600_000;
  const sweeper =
    store !== null && interval > 0
      ? setInterval(() => {
          store.sweep().catch((err: unknown) => o.logger.warn({ err }, "tag history: sweep failed"));
        }, interval)
      : null;
  sweeper?.unref();

  async function record(change: HistoryChange, manifests: readonly KeptManifest[] = []): Promise<void> {
    if (store === null) return;
    const event = { ...change, id: randomUUID(), time: new Date(now()).toISOString(), replica: o.replica };
    try {
      await store.append(event as HistoryEvent, manifests);
      o.metrics.historyEntries.inc({ type: change.type });
    } catch (err) {
      o.metrics.historyFailures.inc();
      o.logger.warn(
        { err, repository: change.repository, type: change.type },
        "tag history: the change was made but could not be recorded",
      );
    }
  }

  const history = {
    windowMs,
    now,
    events: (repository: string) => on().events(repository),
    manifest: (repository: string, digest: string) => on().manifest(repository, digest),
    record,
  };

  return {
    enabled: store !== null,
    windowMs,
    record,
    async tagEntries(repository, tag) {
      checkInput(repository, tag, null);
      return entriesOf(await on().events(repository), now(), windowMs, tag);
    },
    async repositoryEntries(repository, limit = DEFAULT_LIMIT) {
      checkInput(repository, null, null);
      return entriesOf(await on().events(repository), now(), windowMs).slice(0, limit);
    },
    repositories: () => on().repositories(),
    async held() {
      if (store === null) return { windowMs: 0, manifests: [] };
      const manifests: HeldManifest[] = [];
      for (const { repository } of await store.repositories()) {
        manifests.push(...heldManifests(await store.events(repository), now(), windowMs));
      }
      return { windowMs, manifests };
    },
    async undelete(request) {
      on();
      try {
        const result = await undeleteTag(history, o.undelete, request);
        o.metrics.undeletes.inc({ outcome: result.kind === "refused" ? result.reason : result.kind });
        return result;
      } catch (err) {
        o.metrics.undeletes.inc({ outcome: "error" });
        throw err;
      }
    },
    async purge(repository, tag, user) {
      checkInput(repository, tag, null);
      const removed = await on().purge({
        type: "HistoryPurged",
        id: randomUUID(),
        time: new Date(now()).toISOString(),
        repository,
        tag,
        user,
        replica: o.replica,
        via: "admin",
      });
      o.logger.info({ repository, tag, user, removed }, "tag history purged");
      return removed;
    },
    async close() {
      if (sweeper) clearInterval(sweeper);
      await store?.close();
    },
  };
}
