/**
 * The tag deleter of one proxy: the capability cache, the locks and the journal
 * shared by every tag DELETE; start-up recovery of that journal, background repairs
 * and the replicas' sweep are journal-completion.ts's. Created once, with the
 * proxy's dependencies (deps.ts).
 */
import { firstHeader } from "../http/headers.js";
import type { RegistryCalls } from "../registry-client/client.js";
import { describeFailure, type Failure, isFailed } from "../registry-client/failure.js";
import {
  type CapabilityCache,
  capabilityKey,
  createCapabilityCache,
  probeDeleteSupport,
} from "./capabilities.js";
import { type DeleterState, READINESS_NOTE_KEY, type TagDeleterDeps } from "./deleter-state.js";
import { type Journal, openJournal } from "./journal.js";
import { completeInBackground, recover, type SweepReport, sweep } from "./journal-completion.js";
import {
  announcingPuts,
  CoordinationError,
  fenced,
  localTagLocks,
  PhaseLock,
  type PhaseLocks,
  type TagLocks,
  tagLockKey,
} from "./locks.js";
import type { RecoveryReport } from "./recovery.js";
import { createRepairQueue, type PendingRepair, repairsNote } from "./repairs.js";
import { teeJournal } from "./shared-journal.js";
import { swapDelete } from "./swap.js";
import type { SwapResult } from "./swap-types.js";

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

/** A registry that deletes tags itself (distribution 3, zot): its answer, as it gave it. */
async function nativeDelete(reg: RegistryCalls, name: string, tag: string): Promise<DeleteResult> {
  const res = await reg.manifestDelete(name, tag);
  if (isFailed(res) && res.kind !== "status") return { kind: "native-failed", failure: res };
  const challenge = firstHeader(res.headers["www-authenticate"]);
  return { kind: "native-answer", status: res.status, body: res.body, ...(challenge ? { challenge } : {}) };
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

function describeResultFailure(f: Failure | { kind: "journal"; error: Error }): string {
  return f.kind === "journal" ? f.error.message : describeFailure(f);
}
