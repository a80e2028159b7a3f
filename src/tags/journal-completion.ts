/**
 * Completing the tag delete journal's unfinished entries: at start-up (recovery, after
 * compaction), in the background for a delete an upstream failure left unfinished (a
 * repair), and across replicas (the sweep of the shared journal). Each entry is
 * completed as start-up recovery would, under its tag's lock.
 */
import type { RegistryCalls } from "../registry-client/client.js";
import { PLAIN } from "../registry-client/credentials.js";
import { type DeleterState, READINESS_NOTE_KEY, serviceCredentials } from "./deleter-state.js";
import { compactJournal } from "./journal.js";
import { CoordinationError, fenced, type Lease, PhaseLock, tagLockKey } from "./locks.js";
import { isLoopbackOrigin, type RecoveryReport, recoverJournal, sameOrigin } from "./recovery.js";
import type { RepairEntry } from "./repairs.js";
import type { SharedIntent, SharedJournal } from "./shared-journal.js";

/** Start-up compaction keeps unfinished entries and the newest finished ones within this size. */
const JOURNAL_KEEP_BYTES = 32 * 1024 * 1024;

export interface SweepReport {
  /** Entries finished or closed, by whether this replica or another one wrote them. */
  own: number;
  others: number;
  /** Entries that could not be completed now (left for the next sweep). */
  unfinished: number;
}

/**
 * One unfinished entry, as start-up recovery would complete it (tombstone on the tag:
 * finish the delete; dangling: put the tombstone back and delete it; anything else:
 * close it untouched), under the tag's lock. Null once done, else why not.
 */
export async function completeInBackground(s: DeleterState, entry: RepairEntry): Promise<string | null> {
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

/** Start-up: compacts the journal, then completes its unfinished entries; readiness notes what is left. */
export async function recover(s: DeleterState): Promise<RecoveryReport> {
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
export async function sweep(s: DeleterState, minAgeMs: number): Promise<SweepReport> {
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
