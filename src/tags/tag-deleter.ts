/**
 * The tag deleter of one proxy: the capability cache, the locks and the journal
 * shared by every tag DELETE, start-up recovery of that journal and the
 * replicas' sweep. Created once, with the proxy's dependencies (deps.ts).
 */
import type { Config } from "../config.js";
import { firstHeader } from "../http/headers.js";
import type { Readiness } from "../ops/health.js";
import type { Logger } from "../ops/logger.js";
import type { Metrics } from "../ops/metrics.js";
import type { RegistryCalls, RegistryClient } from "../registry-client/client.js";
import { type Credentials, login, PLAIN } from "../registry-client/credentials.js";
import { describeFailure, type Failure, isFailed } from "../registry-client/failure.js";
import {
  type CapabilityCache,
  capabilityKey,
  createCapabilityCache,
  probeDeleteSupport,
} from "./capabilities.js";
import { compactJournal, type Journal, openJournal } from "./journal.js";
import {
  announcingPuts,
  CoordinationError,
  fenced,
  type Lease,
  localTagLocks,
  PhaseLock,
  type PhaseLocks,
  type SharedLocks,
  type TagLocks,
  tagLockKey,
} from "./locks.js";
import { isLoopbackOrigin, type RecoveryReport, recoverJournal, sameOrigin } from "./recovery.js";
import {
  createRepairQueue,
  type PendingRepair,
  type RepairEntry,
  type RepairQueue,
  repairsNote,
} from "./repairs.js";
import { type SharedIntent, type SharedJournal, teeJournal } from "./shared-journal.js";
import { swapDelete } from "./swap.js";
import type { SwapResult } from "./swap-types.js";

/** Start-up compaction keeps unfinished entries and the newest finished ones within this size. */
const JOURNAL_KEEP_BYTES = 32 * 1024 * 1024;

export const READINESS_NOTE_KEY = "tagDeleteJournal";

export type DeleteResult =
  | SwapResult
  | { kind: "disabled" }
  | { kind: "probe-failed"; failure: Failure }
  | { kind: "native-answer"; status: number; body: Buffer; challenge?: string }
  | { kind: "native-failed"; failure: Failure }
  /** The replicas' shared locks could not be had or kept (Redis): the step was not taken. */
  | {
      kind: "coordination-failed";
      reason: CoordinationError["reason"];
      message: string;
      /** Some upstream write was made before (the journal entry stays open for recovery). */
      changed: boolean;
    };

export interface TagDeleter {
  readonly journal: Journal;
  readonly capabilities: CapabilityCache;
  /**
   * Deletes `name:tag` with the caller's own credentials (`registry`); the
   * capability cache is keyed by its `authorization`.
   */
  deleteTag(request: {
    name: string;
    tag: string;
    registry: RegistryCalls;
    authorization: string | undefined;
  }): Promise<DeleteResult>;
  /** Completes unfinished journal entries (before the proxy listens). */
  recover(): Promise<RecoveryReport>;
  /**
   * Replicas: finishes or closes the swaps in the shared journal older than
   * `minAgeMs` (of any replica: one that died mid-swap), each under its shared tag lock.
   */
  sweep(minAgeMs: number): Promise<SweepReport>;
  /** Tag deletes an upstream failure left unfinished, being completed in the background. */
  pendingRepairs(): readonly PendingRepair[];
  /** Stops the background repairs (shutdown). */
  close(): void;
  /**
   * Runs a client's manifest PUT by tag in the repository's "put" phase: 2.8's
   * DELETE by digest (a swap's last step) rewrites the repository's tag links and
   * fails, or fails the PUT, when a tag is written meanwhile (shared notes, §12).
   */
  inPutPhase<T>(repository: string, fn: () => Promise<T>, tag?: string): Promise<T>;
  /** The tag and phase locks of every swap and tag write; the digest delete guard takes them too. */
  readonly locks: { readonly tags: TagLocks; readonly phases: PhaseLocks };
  /** Calls `listener(repository, tag)` when a tag write enters and leaves its put phase; returns the unsubscribe. */
  onTagWrite(listener: TagWriteListener): () => void;
}

/** A tag write through the proxy: its repository, and its tag when the writer named it. */
export type TagWriteListener = (repository: string, tag: string | undefined) => void;

export interface SweepReport {
  /** Entries finished or closed, by whether this replica or another one wrote them. */
  own: number;
  others: number;
  /** Entries that could not be completed now (left for the next sweep). */
  unfinished: number;
}

/** What the tag deleter is made of. */
export interface TagDeleterDeps {
  config: Pick<Config, "delete" | "upstream">;
  registry: RegistryClient;
  logger: Logger;
  metrics: Pick<Metrics, "cache" | "restoreFailures"> &
    Partial<Pick<Metrics, "sharedRecoveries" | "tagRepairsPending">>;
  readiness: Readiness;
  sharedLocks?: SharedLocks | null;
  sharedJournal?: SharedJournal | null;
}

/** The service credentials of recovery and the sweep (delete.recoveryUsername/recoveryPassword), or null. */
export function serviceCredentials(deps: Pick<TagDeleterDeps, "config" | "logger">): Credentials | null {
  const { recoveryUsername: username, recoveryPassword: password } = deps.config.delete;
  if (username === null && password === null) return null;
  if (username === null || password === null) {
    deps.logger.warn(
      "delete.recoveryUsername and delete.recoveryPassword must be set together; ignoring them",
    );
    return null;
  }
  return login(username, password);
}

/** A registry that deletes tags itself (distribution 3, zot): its answer, as it gave it. */
async function nativeDelete(reg: RegistryCalls, name: string, tag: string): Promise<DeleteResult> {
  const res = await reg.manifestDelete(name, tag);
  if (isFailed(res) && res.kind !== "status") return { kind: "native-failed", failure: res };
  const challenge = firstHeader(res.headers["www-authenticate"]);
  return { kind: "native-answer", status: res.status, body: res.body, ...(challenge ? { challenge } : {}) };
}

/** What the steps of one deleter share, made once by createTagDeleter. */
interface DeleterState {
  deps: TagDeleterDeps;
  journal: Journal;
  phases: PhaseLocks;
  sameTag: TagLocks;
  /** The upstream as intents record it. */
  upstreamOrigin: string;
  capabilities: CapabilityCache;
  /** Tag deletes an upstream failure left unfinished, completed in the background. */
  repairs: RepairQueue;
}

export function createTagDeleter(deps: TagDeleterDeps): TagDeleter {
  const cfg = deps.config.delete;
  const journal = deps.sharedJournal
    ? teeJournal(openJournal(cfg.journalPath), deps.sharedJournal)
    : openJournal(cfg.journalPath);
  const tagWriteListeners = new Set<TagWriteListener>();
  const phases = announcingPuts(deps.sharedLocks?.phases ?? new PhaseLock(), (repository, tag) => {
    for (const listener of tagWriteListeners) listener(repository, tag);
  });
  const s: DeleterState = {
    deps,
    journal,
    phases,
    sameTag: deps.sharedLocks?.tags ?? localTagLocks(),
    upstreamOrigin: deps.registry.url.href.replace(/\/+$/, ""),
    capabilities: createCapabilityCache({
      ttlMs: cfg.capabilityTtlMs,
      onLookup: (result) => deps.metrics.cache.inc({ cache: "delete-capabilities", result }),
    }),
    repairs: createRepairQueue({
      complete: (entry) => completeInBackground(s, entry),
      maxDelayMs: cfg.repairMaxDelayMs,
      logger: deps.logger,
      onChange: (pending) => noteRepairs(deps, pending),
    }),
  };
  return {
    journal,
    capabilities: s.capabilities,
    deleteTag: (r) => deleteTag(s, r),
    recover: () => recover(s),
    sweep: (minAgeMs) => sweep(s, minAgeMs),
    inPutPhase: (repository, fn, tag) => phases.run(repository, "put", fn, tag),
    locks: { tags: s.sameTag, phases },
    onTagWrite: (listener) => {
      tagWriteListeners.add(listener);
      return () => void tagWriteListeners.delete(listener);
    },
    pendingRepairs: () => s.repairs.pending(),
    close: () => s.repairs.close(),
  };
}

/** Readiness says "degraded" while repairs are pending, and which tags; the gauge counts them. */
function noteRepairs(deps: TagDeleterDeps, pending: readonly PendingRepair[]): void {
  deps.metrics.tagRepairsPending?.set(pending.length);
  const note = repairsNote(pending);
  if (note) {
    deps.readiness.notes.set(READINESS_NOTE_KEY, note);
    deps.readiness.degraded.add(READINESS_NOTE_KEY);
  } else {
    deps.readiness.notes.delete(READINESS_NOTE_KEY);
    deps.readiness.degraded.delete(READINESS_NOTE_KEY);
  }
}

/**
 * One unfinished entry, as start-up recovery would complete it (tombstone on the tag:
 * finish the delete; dangling: put the tombstone back and delete it; anything else:
 * close it untouched), under the tag's lock. Null once done, else why not.
 */
async function completeInBackground(s: DeleterState, entry: RepairEntry): Promise<string | null> {
  const record = (await s.journal.read()).find((r) => r.intent.id === entry.id);
  if (!record || record.outcome !== null) return null; // finished meanwhile
  const creds = serviceCredentials(s.deps);
  return s.sameTag.run(tagLockKey(entry.repository, entry.tag), async (lease) => {
    const one = await recoverJournal({
      journal: { ...s.journal, read: async () => [record] },
      upstreamOrigin: s.upstreamOrigin,
      serves: () => true,
      registry: s.deps.registry.as(creds ?? PLAIN),
      phases: fenced(s.phases, lease),
      // One write per attempt, the tag looked at again before each: an attempt never
      // puts the tombstone back over a tag someone restored or pushed meanwhile.
      maxRetries: 0,
      logger: s.deps.logger,
      hasCredentials: creds !== null,
      by: "repair",
    });
    return one.unfinished[0]?.reason ?? null;
  });
}

/** As the registry can: natively, by the swap, or not at all (deletes disabled). */
async function deleteTag(s: DeleterState, r: Parameters<TagDeleter["deleteTag"]>[0]): Promise<DeleteResult> {
  const key = capabilityKey(s.upstreamOrigin, r.name, r.authorization);
  const support = await s.capabilities.get(key, () => probeDeleteSupport(r.registry, r.name));
  if (isFailed(support)) return { kind: "probe-failed", failure: support };
  if (support === "disabled") return { kind: "disabled" };
  if (support === "native") {
    const answer = await nativeDelete(r.registry, r.name, r.tag);
    if (answer.kind === "native-answer" && answer.status === 405) s.capabilities.invalidate(key);
    return answer;
  }
  const result = await swapUnderLock(s, r.registry, r.name, r.tag);
  if (result.kind === "failed" && result.failure.kind === "status" && result.failure.status === 405) {
    s.capabilities.invalidate(key);
  }
  if (result.kind === "failed" && !result.restored && !result.superseded && result.journalId) {
    s.deps.metrics.restoreFailures.inc();
    // The tag may hold the tombstone, or be listed with no manifest: finish it once the upstream allows.
    s.repairs.add(
      { id: result.journalId, repository: r.name, tag: r.tag },
      `step ${result.step} failed: ${describeResultFailure(result.failure)}`,
    );
  }
  return result;
}

/** The swap under the tag's lock; each of its writes fenced by the lock's lease (replicas). */
async function swapUnderLock(
  s: DeleterState,
  registry: RegistryCalls,
  name: string,
  tag: string,
): Promise<SwapResult | Extract<DeleteResult, { kind: "coordination-failed" }>> {
  let writes = 0;
  try {
    return await s.sameTag.run(tagLockKey(name, tag), (lease) =>
      swapDelete(
        {
          registry,
          upstreamOrigin: s.upstreamOrigin,
          journal: s.journal,
          phases: fenced(s.phases, lease, () => writes++),
          logger: s.deps.logger,
          maxRetries: s.deps.config.delete.maxRetries,
        },
        name,
        tag,
      ),
    );
  } catch (err) {
    if (!(err instanceof CoordinationError)) throw err;
    s.deps.logger.warn({ repository: name, tag, reason: err.reason, err }, "tag delete: not coordinated");
    return { kind: "coordination-failed", reason: err.reason, message: err.message, changed: writes > 0 };
  }
}

/** Start-up: compacts the journal, then completes its unfinished entries; readiness notes what is left. */
async function recover(s: DeleterState): Promise<RecoveryReport> {
  const { deps } = s;
  const cfg = deps.config.delete;
  try {
    if (await compactJournal(cfg.journalPath, JOURNAL_KEEP_BYTES)) {
      deps.logger.info({ journal: cfg.journalPath }, "tag delete journal compacted");
    }
  } catch (err) {
    deps.logger.warn({ err, journal: cfg.journalPath }, "tag delete journal: compaction failed");
  }
  const creds = serviceCredentials(deps);
  let report: RecoveryReport;
  try {
    report = await recoverJournal({
      journal: s.journal,
      upstreamOrigin: s.upstreamOrigin,
      // No upstream.url: the embedded registry, on a new loopback port at every start.
      serves: (recorded) =>
        sameOrigin(recorded, s.upstreamOrigin) ||
        (deps.config.upstream.url === null && isLoopbackOrigin(recorded)),
      registry: deps.registry.as(creds ?? PLAIN),
      // Before the proxy listens; with replicas, in-process phases (recovery must not wait for Redis).
      phases: deps.sharedLocks ? new PhaseLock() : s.phases,
      maxRetries: cfg.maxRetries,
      logger: deps.logger,
      hasCredentials: creds !== null,
    });
  } catch (err) {
    deps.logger.error({ err, journal: cfg.journalPath }, "tag delete journal: cannot be read");
    deps.readiness.notes.set(READINESS_NOTE_KEY, `journal ${cfg.journalPath} cannot be read`);
    return { completed: 0, closed: 0, unfinished: [], skipped: 0 };
  }
  // What could not be completed now is tried again in the background (readiness says so meanwhile).
  for (const u of report.unfinished)
    s.repairs.add({ id: u.id, repository: u.repository, tag: u.tag }, u.reason);
  return report;
}

/** Replicas: the shared journal's unfinished entries older than `minAgeMs`, each completed under its tag lock. */
async function sweep(s: DeleterState, minAgeMs: number): Promise<SweepReport> {
  const report: SweepReport = { own: 0, others: 0, unfinished: 0 };
  const shared = s.deps.sharedJournal;
  if (!shared || !s.deps.sharedLocks) return report;
  let entries: SharedIntent[];
  try {
    entries = await shared.unfinished();
  } catch (err) {
    s.deps.logger.warn({ err }, "shared journal sweep: redis unavailable");
    return report;
  }
  const creds = serviceCredentials(s.deps);
  const service = { registry: s.deps.registry.as(creds ?? PLAIN), hasCredentials: creds !== null };
  for (const entry of entries) {
    // Younger entries may be swaps in flight (their replica holds the tag lock).
    if (Date.now() - Date.parse(entry.intent.time) < minAgeMs) continue;
    if (!sameOrigin(entry.intent.upstream, s.upstreamOrigin)) continue;
    try {
      await s.sameTag.run(tagLockKey(entry.intent.repository, entry.intent.tag), (lease) =>
        sweepOne(s, shared, entry, service, lease, report),
      );
    } catch (err) {
      if (!(err instanceof CoordinationError)) throw err;
      report.unfinished++;
    }
  }
  return report;
}

/** One entry of the shared journal, completed as start-up recovery would (unless finished meanwhile). */
async function sweepOne(
  s: DeleterState,
  shared: SharedJournal,
  { intent, replica }: SharedIntent,
  service: { registry: RegistryCalls; hasCredentials: boolean },
  lease: Lease | null,
  report: SweepReport,
): Promise<void> {
  if (!(await shared.has(intent.id))) return; // finished meanwhile
  const one = await recoverJournal({
    journal: { ...s.journal, read: async () => [{ intent, outcome: null }] },
    upstreamOrigin: s.upstreamOrigin,
    serves: () => true,
    ...service,
    phases: fenced(s.phases, lease),
    maxRetries: s.deps.config.delete.maxRetries,
    logger: s.deps.logger,
    by: "sweep",
  });
  const done = one.completed + one.closed;
  const own = replica === shared.replica;
  report.unfinished += one.unfinished.length;
  if (own) report.own += done;
  else report.others += done;
  if (done > 0) {
    s.deps.metrics.sharedRecoveries?.inc({ by: own ? "self" : "other" }, done);
    s.deps.logger.info(
      { repository: intent.repository, tag: intent.tag, journalId: intent.id, replica },
      "shared journal sweep: an interrupted tag delete was completed",
    );
  }
}

function describeResultFailure(f: Failure | { kind: "journal"; error: Error }): string {
  return f.kind === "journal" ? f.error.message : describeFailure(f);
}
