/**
 * The history in files, for one proxy (no `state.redisUrl`): beside the tag delete
 * journal, in the state directory,
 *
 *   <dir>/events.jsonl              every event, one JSON line each, in order
 *   <dir>/manifests/<alg>/<hex>     kept manifests: {"mediaType","bytes"(base64)}
 *
 * Every repository's events are held in memory (a few hundred bytes each, bounded
 * by the window and the cap per repository); manifests stay on disk. A purge is
 * written as its marker line, which replays as the purge. Lines are appended in
 * batches (one write for the lines queued meanwhile) without fsync: a process that
 * dies loses nothing written, a machine that crashes may lose the last entries.
 * When the file holds twice the live entries (and a thousand more) it is rewritten
 * (temporary file, rename) and kept manifests no entry needs are removed.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { type FileHandle, open, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { asHistoryEvent, type HistoryEvent, type KeptManifest, timeOf } from "./events.js";
import { digestsReferenced, purgeEvents, retainEvents } from "./queries.js";
import {
  decodeManifest,
  encodeManifest,
  type HistoryStore,
  type RepositorySummary,
  type StoreBounds,
} from "./store.js";

const EVENTS_FILE = "events.jsonl";
const DIGEST_PATH_RE = /^([a-z0-9]+):([a-f0-9]{32,128})$/;

/** The history's folder: beside the tag delete journal, in the state directory. */
export function historyDirOf(journalPath: string): string {
  return join(dirname(journalPath), "tag-history");
}

/** Replays the event lines (purge markers purge); unparsable lines (a torn tail) are skipped. */
export function replayEvents(text: string): { logs: Map<string, HistoryEvent[]>; lines: number } {
  const logs = new Map<string, HistoryEvent[]>();
  let lines = 0;
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    lines++;
    let e: HistoryEvent | null;
    try {
      e = asHistoryEvent(JSON.parse(line));
    } catch {
      e = null;
    }
    if (e === null) continue;
    let log = logs.get(e.repository) ?? [];
    if (e.type === "HistoryPurged") log = purgeEvents(log, e.tag).kept;
    log.push(e);
    logs.set(e.repository, log);
  }
  return { logs, lines };
}

/**
 * The kept manifests' files, one per digest: written and removed one operation at
 * a time, so a compaction never removes a file an append is writing.
 */
function manifestFiles(dir: string) {
  let ops: Promise<unknown> = Promise.resolve();
  const serially = <T>(op: () => Promise<T>): Promise<T> => {
    const result = ops.then(op);
    ops = result.catch(() => {});
    return result;
  };
  /** Kept manifests known to be on disk (a push of a known digest costs no file system call). */
  const onDisk = new Set<string>();
  const pathOf = (digest: string) => {
    const m = DIGEST_PATH_RE.exec(digest);
    return m ? join(dir, "manifests", m[1]!, m[2]!) : null;
  };
  async function write(m: KeptManifest): Promise<void> {
    const path = pathOf(m.digest);
    if (path === null || onDisk.has(m.digest)) return;
    if (!existsSync(path)) {
      mkdirSync(join(path, ".."), { recursive: true });
      const tmp = `${path}.${process.pid}.tmp`;
      await writeFile(tmp, encodeManifest(m), { mode: 0o600 });
      await rename(tmp, path);
    }
    onDisk.add(m.digest);
  }
  async function removeUnreferenced(needed: Set<string>): Promise<void> {
    const root = join(dir, "manifests");
    if (!existsSync(root)) return;
    for (const alg of await readdir(root)) {
      for (const hex of await readdir(join(root, alg))) {
        const digest = `${alg}:${hex}`;
        if (needed.has(digest)) continue;
        onDisk.delete(digest);
        await rm(join(root, alg, hex), { force: true });
      }
    }
  }
  return {
    pathOf,
    write: (m: KeptManifest) => serially(() => write(m)),
    /** Removes the kept manifests none of `needed` names. */
    removeUnreferenced: (needed: Set<string>) => serially(() => removeUnreferenced(needed)),
  };
}

/**
 * The events file, appended to in batches: `enqueue` resolves once its line is
 * written; a null line asks for a compaction (the file rewritten with the live
 * entries of `logs`, and the manifests none of them needs removed), which also
 * runs once the file holds more than twice the live entries.
 */
function eventsFile(
  dir: string,
  logs: Map<string, HistoryEvent[]>,
  linesAtOpen: number,
  manifests: ReturnType<typeof manifestFiles>,
) {
  const file = join(dir, EVENTS_FILE);
  let linesInFile = linesAtOpen;
  let handle: FileHandle | null = null;
  let pending: Array<{ line: string | null; done: (err?: Error) => void }> = [];
  let flushing: Promise<void> | null = null;
  const live = () => [...logs.values()].reduce((n, l) => n + l.length, 0);

  async function compact(): Promise<void> {
    await handle?.close();
    handle = null;
    const all = [...logs.values()].flat();
    const tmp = `${file}.compact-${process.pid}`;
    await writeFile(tmp, all.map((e) => `${JSON.stringify(e)}\n`).join(""), { mode: 0o600 });
    await rename(tmp, file);
    linesInFile = all.length;
    await manifests.removeUnreferenced(digestsReferenced([...logs.values()].flat()));
  }

  async function flush(): Promise<void> {
    while (pending.length > 0) {
      const batch = pending;
      pending = [];
      try {
        const lines = batch.flatMap((b) => (b.line === null ? [] : [b.line]));
        if (lines.length > 0) {
          if (!handle) {
            mkdirSync(dir, { recursive: true });
            handle = await open(file, "a", 0o600);
          }
          await handle.write(lines.join(""));
          linesInFile += lines.length;
        }
        if (batch.some((b) => b.line === null) || linesInFile > 2 * live() + 1000) await compact();
        for (const b of batch) b.done();
      } catch (err) {
        for (const b of batch) b.done(err as Error);
      }
    }
    flushing = null;
  }

  return {
    /** Queues a line (null: a compaction) and resolves once it is written. */
    enqueue(line: string | null): Promise<void> {
      return new Promise((resolve, reject) => {
        pending.push({ line, done: (err) => (err ? reject(err) : resolve()) });
        flushing ??= flush();
      });
    },
    async close(): Promise<void> {
      if (flushing) await flushing;
      await handle?.close();
      handle = null;
    },
  };
}

export function openFileHistory(dir: string, bounds: StoreBounds): HistoryStore {
  const now = bounds.now ?? Date.now;
  let text = "";
  try {
    text = readFileSync(join(dir, EVENTS_FILE), "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const replayed = replayEvents(text);
  const logs = replayed.logs;
  const bound = (log: HistoryEvent[]) => retainEvents(log, now(), bounds.retainMs, bounds.maxPerRepository);
  /** The bounds on the append path: the cap, then the oldest entries past the retention (cheap: from the front). */
  const trimFront = (log: HistoryEvent[]) => {
    if (log.length > bounds.maxPerRepository) log.splice(0, log.length - bounds.maxPerRepository);
    const oldest = now() - bounds.retainMs;
    let drop = 0;
    while (drop < log.length && timeOf(log[drop]!) < oldest) drop++;
    if (drop > 0) log.splice(0, drop);
  };
  for (const [repo, log] of logs) logs.set(repo, bound(log));
  const manifests = manifestFiles(dir);
  const events = eventsFile(dir, logs, replayed.lines, manifests);
  const enqueue = (line: string | null) => events.enqueue(line);

  return {
    async append(event, kept = []) {
      // The entry first: a compaction from now on keeps its manifests.
      const log = logs.get(event.repository) ?? [];
      log.push(event);
      logs.set(event.repository, log);
      trimFront(log);
      for (const m of kept) await manifests.write(m);
      await enqueue(`${JSON.stringify(event)}\n`);
    },
    async events(repository) {
      const log = logs.get(repository);
      return log ? bound(log) : [];
    },
    async repositories() {
      const out: RepositorySummary[] = [];
      for (const [repository, log] of logs) {
        const last = bound(log).at(-1);
        if (last) out.push({ repository, lastChange: last.time });
      }
      return out.sort((a, b) => (a.lastChange < b.lastChange ? 1 : a.lastChange > b.lastChange ? -1 : 0));
    },
    async manifest(repository, digest) {
      const log = logs.get(repository) ?? [];
      const path = manifests.pathOf(digest);
      if (path === null || !digestsReferenced(log).has(digest)) return null;
      try {
        return decodeManifest(repository, digest, await readFile(path, "utf8"));
      } catch {
        return null;
      }
    },
    async purge(marker) {
      const { kept, removed } = purgeEvents(logs.get(marker.repository) ?? [], marker.tag);
      const full = { ...marker, removed };
      kept.push(full);
      logs.set(marker.repository, kept);
      await enqueue(`${JSON.stringify(full)}\n`);
      // The purged manifests' bytes go now (the compaction removes what no entry needs).
      await enqueue(null);
      return removed;
    },
    async sweep() {
      let dropped = 0;
      for (const [repo, log] of logs) {
        const kept = bound(log);
        dropped += log.length - kept.length;
        if (kept.length === 0) logs.delete(repo);
        else logs.set(repo, kept);
      }
      if (dropped > 0) await enqueue(null);
    },
    close: () => events.close(),
  };
}
