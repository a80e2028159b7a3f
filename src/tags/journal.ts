/**
 * The write-ahead journal of tag swaps: an append-only JSON Lines file.
 *
 * Before the tombstone PUT the swap appends an `intent` (repository, tag, the
 * original digest, media type and small original bytes, the tombstone's digest
 * and bytes, the time); after the swap an `outcome`. An intent without an
 * outcome is unfinished: start-up recovery completes it, `restore` reads both.
 *
 * Appends are group-committed: lines queued while a write is in flight go out
 * together in one write followed by one fdatasync, and every caller waits for
 * the sync that covers its line. Outcomes need no fsync of their own (a lost
 * outcome only makes start-up recovery look at the tag again, which then finds
 * nothing to do), so `{ sync: false }` skips it unless an intent shares the batch.
 * Reading tolerates a torn last line (a crash in the middle of a write).
 */
import { mkdirSync } from "node:fs";
import { type FileHandle, open, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

/** Original manifests up to this size are kept in the journal itself. */
export const MAX_STORED_BYTES = 64 * 1024;

export interface IntentEntry {
  type: "intent";
  id: string;
  time: string;
  /** Upstream origin, without credentials (a default for `restore`). */
  upstream: string;
  repository: string;
  tag: string;
  /** null when the tag already held a tombstone (another delete was finishing). */
  originalDigest: string | null;
  mediaType: string | null;
  /** base64 of the original bytes when at most MAX_STORED_BYTES. */
  originalBytes?: string;
  tombstoneDigest: string;
  /** base64 of the tombstone (small): recovery may have to put it back. */
  tombstoneBytes: string;
}

export type Outcome = "deleted" | "rolled_back" | "superseded" | "closed" | "restored";

export interface OutcomeEntry {
  type: "outcome";
  id: string;
  time: string;
  outcome: Outcome;
  detail?: string;
}

export type JournalEntry = IntentEntry | OutcomeEntry;

export interface JournalRecord {
  intent: IntentEntry;
  outcome: OutcomeEntry | null;
}

export interface Journal {
  readonly path: string;
  append(entry: JournalEntry, options?: { sync?: boolean }): Promise<void>;
  /** Every intent in file order, each with its latest outcome. */
  read(): Promise<JournalRecord[]>;
  close(): Promise<void>;
}

/** Parses journal text; unparsable lines (a torn tail) are counted, not fatal. */
export function parseJournal(text: string): { records: JournalRecord[]; badLines: number } {
  const byId = new Map<string, JournalRecord>();
  let badLines = 0;
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    let entry: JournalEntry;
    try {
      entry = JSON.parse(line) as JournalEntry;
    } catch {
      badLines++;
      continue;
    }
    if (entry.type === "intent" && typeof entry.id === "string") {
      byId.set(entry.id, { intent: entry, outcome: null });
    } else if (entry.type === "outcome") {
      const rec = byId.get(entry.id);
      if (rec) rec.outcome = entry;
    } else {
      badLines++;
    }
  }
  return { records: [...byId.values()], badLines };
}

export function openJournal(path: string): Journal {
  let handle: Promise<FileHandle> | null = null;
  let pending: Array<{ line: string; sync: boolean; done: (err?: Error) => void }> = [];
  let flushing = false;

  function fileHandle(): Promise<FileHandle> {
    if (!handle) {
      mkdirSync(dirname(path), { recursive: true });
      handle = open(path, "a", 0o600);
      handle.catch(() => {
        handle = null;
      });
    }
    return handle;
  }

  async function flush(): Promise<void> {
    flushing = true;
    while (pending.length > 0) {
      const batch = pending;
      pending = [];
      try {
        const fh = await fileHandle();
        await fh.write(batch.map((b) => b.line).join(""));
        if (batch.some((b) => b.sync)) await fh.datasync();
        for (const b of batch) b.done();
      } catch (err) {
        for (const b of batch) b.done(err as Error);
      }
    }
    flushing = false;
  }

  return {
    path,
    append(entry, options = {}) {
      return new Promise<void>((resolve, reject) => {
        pending.push({
          line: `${JSON.stringify(entry)}\n`,
          sync: options.sync ?? true,
          done: (err) => (err ? reject(err) : resolve()),
        });
        if (!flushing) void flush();
      });
    },
    async read() {
      return (await readJournalFile(path)).records;
    },
    async close() {
      const h = handle;
      handle = null;
      if (h) await (await h).close();
    },
  };
}

export async function readJournalFile(path: string): Promise<{ records: JournalRecord[]; badLines: number }> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { records: [], badLines: 0 };
    throw err;
  }
  return parseJournal(text);
}

/** Records whose intent has no outcome yet. */
export function unfinished(records: readonly JournalRecord[]): JournalRecord[] {
  return records.filter((r) => r.outcome === null);
}

/** The latest intent for a repository's tag (restore's source), if any. */
export function latestFor(
  records: readonly JournalRecord[],
  repository: string,
  tag: string,
): JournalRecord | undefined {
  for (let i = records.length - 1; i >= 0; i--) {
    const r = records[i]!;
    if (r.intent.repository === repository && r.intent.tag === tag) return r;
  }
  return undefined;
}

/**
 * Rewrites the journal keeping every unfinished record and the newest finished
 * ones within `keepBytes` (what `restore` can still use). Atomic: temp file,
 * fsync, rename. Only for start-up, before any append.
 */
export async function compactJournal(path: string, keepBytes: number): Promise<boolean> {
  const { records } = await readJournalFile(path);
  const lines = (r: JournalRecord) =>
    JSON.stringify(r.intent) + "\n" + (r.outcome ? JSON.stringify(r.outcome) + "\n" : "");
  const total = records.reduce((n, r) => n + Buffer.byteLength(lines(r)), 0);
  if (total <= keepBytes) return false;
  const kept: string[] = [];
  let size = 0;
  for (let i = records.length - 1; i >= 0; i--) {
    const r = records[i]!;
    const text = lines(r);
    if (r.outcome !== null && size + Buffer.byteLength(text) > keepBytes) continue;
    size += Buffer.byteLength(text);
    kept.push(text);
  }
  const tmp = `${path}.compact-${process.pid}`;
  await writeFile(tmp, kept.reverse().join(""), { mode: 0o600 });
  const fh = await open(tmp, "r+");
  await fh.sync();
  await fh.close();
  await rename(tmp, path);
  return true;
}
