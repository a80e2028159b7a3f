/**
 * Tag deletes left unfinished by an upstream failure (a swap that could neither
 * finish nor put the original back: the tag may hold a tombstone or be listed
 * with no manifest), completed by the running proxy in the background: each
 * journal entry is tried again after 1 s, 2 s, 4 s ... (at most `maxDelayMs`,
 * jittered), one attempt at a time, until it is finished or closed, so no restart
 * is needed once the upstream answers again. What is pending is reported through
 * `onChange` (readiness notes and a gauge) until the last entry is done.
 */
import type { Logger } from "../ops/logger.js";

export const FIRST_REPAIR_DELAY_MS = 1000;

export interface RepairEntry {
  /** The journal entry's id. */
  id: string;
  repository: string;
  tag: string;
}

export interface PendingRepair extends RepairEntry {
  /** Why the last attempt (or the swap) could not complete it. */
  reason: string;
  attempts: number;
  /** When it was first scheduled (ms). */
  since: number;
}

export interface RepairQueue {
  /** Schedules an entry (again: keeps its place and count). */
  add(entry: RepairEntry, reason: string): void;
  pending(): readonly PendingRepair[];
  /** Stops every timer (shutdown); an attempt under way finishes. */
  close(): void;
}

export interface RepairOptions {
  /** Completes one entry: null once finished or closed, else why not (tried again later). */
  complete(entry: RepairEntry): Promise<string | null>;
  onChange(pending: readonly PendingRepair[]): void;
  /** Longest pause between two attempts of an entry. */
  maxDelayMs: number;
  logger: Logger;
}

/** The pause before attempt `n` (0-based): 1 s doubling, capped, ±25%. */
export function repairDelay(n: number, maxDelayMs: number, random = Math.random): number {
  const base = Math.min(maxDelayMs, FIRST_REPAIR_DELAY_MS * 2 ** Math.min(n, 30));
  return Math.round(base * (0.75 + random() * 0.5));
}

export function createRepairQueue(o: RepairOptions): RepairQueue {
  const pending = new Map<string, PendingRepair & { timer: NodeJS.Timeout | null }>();
  let closed = false;
  /** Attempts run one at a time: a dead upstream is not asked for every entry at once. */
  let chain: Promise<void> = Promise.resolve();

  const report = () => o.onChange([...pending.values()].map(({ timer: _t, ...p }) => p));

  function schedule(id: string): void {
    const p = pending.get(id);
    if (!p || closed) return;
    p.timer = setTimeout(
      () => {
        p.timer = null;
        chain = chain.then(() => attempt(id));
      },
      repairDelay(p.attempts, o.maxDelayMs),
    );
    p.timer.unref();
  }

  async function attempt(id: string): Promise<void> {
    const p = pending.get(id);
    if (!p || closed) return;
    p.attempts++;
    let reason: string | null;
    try {
      reason = await o.complete(p);
    } catch (err) {
      reason = (err as Error).message;
    }
    if (closed) return;
    if (reason === null) {
      pending.delete(id);
      o.logger.info(
        { repository: p.repository, tag: p.tag, journalId: id, attempts: p.attempts },
        "tag delete completed in the background",
      );
      report();
      return;
    }
    p.reason = reason;
    report();
    schedule(id);
  }

  return {
    add(entry, reason) {
      if (closed) return;
      const known = pending.get(entry.id);
      if (known) {
        known.reason = reason;
        if (known.timer === null) return; // an attempt is queued or running: it reschedules
        clearTimeout(known.timer);
      } else {
        pending.set(entry.id, { ...entry, reason, attempts: 0, since: Date.now(), timer: null });
        o.logger.warn(
          { repository: entry.repository, tag: entry.tag, journalId: entry.id, reason },
          "tag delete left unfinished: completing it in the background until the upstream allows it",
        );
      }
      report();
      schedule(entry.id);
    },
    pending: () => [...pending.values()].map(({ timer: _t, ...p }) => p),
    close() {
      closed = true;
      for (const p of pending.values()) if (p.timer) clearTimeout(p.timer);
    },
  };
}

/** The readiness note for pending repairs ("" when none). */
export function repairsNote(pending: readonly PendingRepair[]): string {
  if (pending.length === 0) return "";
  const list = pending
    .slice(0, 20)
    .map((p) => `${p.repository}:${p.tag} (${p.reason})`)
    .join("; ");
  const more = pending.length > 20 ? ` and ${pending.length - 20} more` : "";
  return (
    `${pending.length} unfinished tag delete(s) in the journal, completed in the background as soon as ` +
    `the upstream allows (a tag may hold a tombstone meanwhile): ${list}${more}`
  );
}
