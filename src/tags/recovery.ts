/**
 * Start-up completion of the journal: every intent without an outcome is a swap
 * that a crash (or a failed restore) left unfinished. For each:
 *   - the tag still holds the recorded tombstone → finish the delete;
 *   - the tag has no manifest but is still listed (dangling) → put the tombstone
 *     back and delete it, so the tag is really gone;
 *   - otherwise (original still there, pushed again, or already gone) → close the
 *     entry untouched.
 * A crash can thus never leave a tag on a tombstone. Entries that cannot be
 * completed (upstream down, credentials missing or refused) are reported loudly:
 * in the log at error level and in the readiness notes.
 *
 * Only entries recorded against the upstream this proxy serves are touched: an
 * entry of another upstream (a journal shared by mistake, or the upstream URL
 * changed) is left open and listed in a warning, never checked against the
 * wrong registry and closed. (The embedded registry gets a new loopback port at
 * every start: for it, every loopback entry is its own; see tag-deleter.ts.)
 */
import type { Logger } from "../ops/logger.js";
import type { Manifest, RegistryCalls } from "../registry-client/client.js";
import { describeFailure, type Failure, isFailed } from "../registry-client/failure.js";
import type { Journal, JournalRecord, Outcome } from "./journal.js";
import { unfinished } from "./journal.js";
import type { PhaseLocks } from "./locks.js";
import { deleteForward } from "./settle.js";
import { deleteDigest, putTag, tagDigest, tagListed } from "./tag-state.js";
import { TOMBSTONE_MEDIA_TYPE } from "./tombstone.js";

export interface UnfinishedDelete {
  id: string;
  repository: string;
  tag: string;
  originalDigest: string | null;
  mediaType: string | null;
  reason: string;
}

export interface RecoveryReport {
  /** Deletes finished now. */
  completed: number;
  /** Entries closed without touching the tag. */
  closed: number;
  unfinished: UnfinishedDelete[];
  /** Open entries of another upstream, left as they are. */
  skipped: number;
}

export interface RecoveryOptions {
  journal: Journal;
  /** The origin this proxy serves (as recorded in intents), for the log. */
  upstreamOrigin: string;
  /** Whether an entry's recorded upstream is the one served here; other entries are skipped. */
  serves: (recordedUpstream: string) => boolean;
  /** The registry, with the service credentials (delete.recoveryUsername/recoveryPassword) when set. */
  registry: RegistryCalls;
  phases: PhaseLocks;
  maxRetries: number;
  logger: Logger;
  /** Whether service credentials were configured (for the report's wording). */
  hasCredentials: boolean;
  /**
   * Who completes the entries, for the log: start-up recovery (default), the replicas'
   * sweep, or the background repairs of a running proxy (repairs.ts, which logs what is left itself).
   */
  by?: "start-up" | "sweep" | "repair";
}

function reasonOf(f: Failure, hasCredentials: boolean): string {
  if (f.kind === "status" && f.status === 401) {
    return hasCredentials
      ? "the upstream refused the service credentials (delete.recoveryUsername/recoveryPassword)"
      : "the upstream needs credentials: set delete.recoveryUsername/recoveryPassword";
  }
  if (f.kind === "status" && f.status === 403) return "the service credentials may not delete here";
  return describeFailure(f);
}

async function completeOne(o: RecoveryOptions, rec: JournalRecord): Promise<Outcome | Failure> {
  const { repository: name, tag } = rec.intent;
  const tombstone: Manifest = {
    bytes: Buffer.from(rec.intent.tombstoneBytes, "base64"),
    mediaType: TOMBSTONE_MEDIA_TYPE,
    digest: rec.intent.tombstoneDigest,
  };
  const put = (m: Manifest) => o.phases.run(name, "put", () => putTag(o.registry, name, tag, m), tag);
  const del = (d: string) => o.phases.run(name, "delete", () => deleteDigest(o.registry, name, d));
  const current = await tagDigest(o.registry, name, tag);
  if (isFailed(current)) return current;
  if (current === tombstone.digest) {
    return deleteForward(o, name, tag, tombstone, put, del);
  }
  if (current !== null) return "closed";
  const listed = await tagListed(o.registry, name, tag);
  if (isFailed(listed)) return listed;
  if (!listed) return "closed";
  const again = await put(tombstone);
  if (again !== true) return again;
  return deleteForward(o, name, tag, tombstone, put, del);
}

export async function recoverJournal(o: RecoveryOptions): Promise<RecoveryReport> {
  const report: RecoveryReport = { completed: 0, closed: 0, unfinished: [], skipped: 0 };
  const all = unfinished(await o.journal.read());
  const open = all.filter((r) => o.serves(r.intent.upstream));
  const others = all.filter((r) => !open.includes(r));
  report.skipped = others.length;
  if (others.length > 0) {
    o.logger.warn(
      {
        journal: o.journal.path,
        upstream: o.upstreamOrigin,
        skipped: others.slice(0, 20).map((r) => ({
          id: r.intent.id,
          upstream: r.intent.upstream,
          repository: r.intent.repository,
          tag: r.intent.tag,
        })),
      },
      `tag delete journal: ${others.length} unfinished entr${others.length === 1 ? "y" : "ies"} of another ` +
        "upstream left open (a proxy serving that upstream completes them)",
    );
  }
  let unreachable: Failure | null = null;
  for (const rec of open) {
    const { id, repository, tag, originalDigest, mediaType } = rec.intent;
    let result: Outcome | Failure;
    if (unreachable) {
      result = unreachable; // do not wait for a dead upstream once per entry
    } else {
      try {
        result = await completeOne(o, rec);
      } catch (err) {
        result = { ok: false, kind: "invalid", reason: (err as Error).message };
      }
      if (isFailed(result) && result.kind === "network") unreachable = result;
    }
    if (isFailed(result)) {
      report.unfinished.push({
        id,
        repository,
        tag,
        originalDigest,
        mediaType,
        reason: reasonOf(result, o.hasCredentials),
      });
      continue;
    }
    const outcome: Outcome = result === "closed" ? "closed" : result === "deleted" ? "deleted" : "superseded";
    await o.journal.append({
      type: "outcome",
      id,
      time: new Date().toISOString(),
      outcome,
      detail: "recovery",
    });
    if (outcome === "closed") report.closed++;
    else report.completed++;
    o.logger.info(
      { repository, tag, journalId: id, outcome },
      o.by === "sweep"
        ? "tag delete journal: entry completed by the sweep"
        : o.by === "repair"
          ? "tag delete journal: entry completed in the background"
          : "tag delete journal: entry completed at start-up",
    );
  }
  if (report.unfinished.length > 0 && o.by !== "repair") {
    o.logger.error(
      { journal: o.journal.path, unfinished: report.unfinished },
      `tag delete journal: ${report.unfinished.length} unfinished tag delete(s) could not be completed now; ` +
        "each tag may still hold a tombstone. They are tried again in the background until the upstream " +
        "allows it (/readyz lists them); `registry-compat-proxy restore` puts a tag back instead",
    );
  }
  return report;
}

/** Origins compare without trailing slashes. */
export function sameOrigin(a: string, b: string): boolean {
  return a.replace(/\/+$/, "") === b.replace(/\/+$/, "");
}

/** The embedded registry's origin shape (registry/launch.ts): plain http on 127.0.0.1, any port. */
export function isLoopbackOrigin(origin: string): boolean {
  return /^http:\/\/127\.0\.0\.1:\d+\/*$/.test(origin);
}

/** The readiness note for unfinished entries (empty string when none). */
export function readinessNote(report: RecoveryReport): string {
  if (report.unfinished.length === 0) return "";
  const list = report.unfinished
    .slice(0, 20)
    .map((u) => `${u.repository}:${u.tag} (${u.reason})`)
    .join("; ");
  const more = report.unfinished.length > 20 ? ` and ${report.unfinished.length - 20} more` : "";
  return `${report.unfinished.length} unfinished tag delete(s) in the journal: ${list}${more}`;
}
