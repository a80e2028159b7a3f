/**
 * What `gc --apply` shows while it runs, on stderr (stdout keeps the report):
 * - each phase as a line (`gc: entering the read-only window on …`); a failed
 *   step always, `--quiet` too;
 * - on a terminal only, one status line rewritten in place with the counts of
 *   the phase running (manifests deleted of those planned and their bytes,
 *   garbage-collect's marked and deleted blobs); never in a pipe or a file;
 * - garbage-collect's own output (a line per manifest and blob) goes to a log
 *   file, and to stderr as it comes only with `--verbose`; the restart
 *   command's (a line or two of the operator's own command) is shown;
 * - at the end, a summary (time, counts, bytes, the log file), `--quiet` too.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CollectorCounts, createCollectorReader } from "./collector-output.js";
import { type CollectionPlan, untaggedCount } from "./reachability.js";
import { formatBytes, type GcResult } from "./report.js";
import type { ManifestDeleter } from "./steps.js";
import type { ScannedRepository } from "./storage-scan.js";

/** gc's output options (its flags --verbose and --log FILE). */
export interface GcOutputOptions {
  /** garbage-collect's output on stderr too, as it comes. */
  verbose?: boolean;
  /** Where garbage-collect's output is kept; null: nowhere. */
  logFile?: string | null;
}

/** --verbose, and --log FILE (default: a new file in the temporary folder). */
export function outputOptions(v: Record<string, unknown>): GcOutputOptions {
  const log = typeof v["log"] === "string" ? v["log"] : null;
  return {
    verbose: v["verbose"] === true,
    logFile: log ?? join(tmpdir(), `registry-compat-proxy-gc-${Date.now()}-${process.pid}.log`),
  };
}

export interface GcProgressOptions {
  /** stderr is a terminal: the status line is drawn. */
  tty: boolean;
  quiet: boolean;
  verbose: boolean;
  /** garbage-collect's output goes there (opened on its first chunk); null: nowhere. */
  logFile: string | null;
  columns?: number;
  now?: () => number;
}

export interface GcProgress {
  /** A phase starts, or a step passed: a line (not with --quiet). */
  phase(text: string): void;
  /** A step failed: a line, always. */
  failed(text: string): void;
  /**
   * The storage under `root` is read (inside the window): a line; the callback counts
   * each repository read on the status line; `read(plan)` closes the phase with its counts.
   */
  scanning(root: string): { repository(r: ScannedRepository): void; read(plan: CollectionPlan): void };
  /** The deletes by digest of the plan's untagged manifests start, through the proxy at `url`. */
  deleting(plan: CollectionPlan, url: string): void;
  /** The deleter, counting its deletes on the status line. */
  counting(deleter: ManifestDeleter): ManifestDeleter;
  /** garbage-collect starts: a line saying where its output goes; the sink for its output. */
  collecting(): (chunk: Buffer) => void;
  /** The sink for --restart-command's output: shown as it comes (not with --quiet), and kept in the log. */
  restarting(): (chunk: Buffer) => void;
  readonly collector: CollectorCounts;
  /** The closing lines: time, counts, bytes, where garbage-collect's output is. */
  summary(result: GcResult): void;
}

/** The progress of a gc run with these options on `write` (stderr); a status line when it is a terminal. */
export function progressFor(
  o: GcOutputOptions & { quiet: boolean },
  write: (text: string) => void,
  stream: { isTTY?: boolean; columns?: number },
): GcProgress {
  return createGcProgress(write, {
    tty: stream.isTTY === true,
    quiet: o.quiet,
    verbose: o.verbose ?? false,
    logFile: o.logFile ?? null,
    ...(stream.columns ? { columns: stream.columns } : {}),
  });
}

/** Status lines drawn at most this often (a run deleting thousands stays cheap). */
const REDRAW_MS = 100;
/** Lines of garbage-collect's output kept to show when it fails. */
const TAIL_LINES = 5;

/** The summary's line: how long, what was deleted, what was freed. */
function summaryLine(result: GcResult, c: CollectorCounts, seconds: string): string {
  const deleted = result.deletes.filter((d) => d.result === "deleted").length;
  const failed = result.deletes.filter((d) => d.result === "failed").length;
  const eligible = c.blobsEligible !== null ? ` of ${c.blobsEligible} eligible` : "";
  const parts = [
    `${deleted} untagged manifests deleted${failed > 0 ? `, ${failed} failed` : ""}`,
    ...(result.empty?.removed?.length
      ? [`${result.empty.removed.length} repositories without tags removed`]
      : []),
    `garbage-collect deleted ${c.blobsDeleted} blobs${eligible}`,
    `${formatBytes(result.freed?.total ?? 0)} freed`,
  ];
  return `gc: ${result.exitCode === 0 ? "done" : "FAILED"} in ${seconds} s: ${parts.join(", ")}\n`;
}

export function createGcProgress(write: (text: string) => void, o: GcProgressOptions): GcProgress {
  const now = o.now ?? Date.now;
  const started = now();
  const reader = createCollectorReader();
  const tail: string[] = [];
  let status = "";
  let drawnAt = 0;
  let log: number | null = null;
  let logFailed: string | null = null;
  const deletes = { done: 0, total: 0, bytes: 0 };

  const width = Math.max(20, (o.columns ?? 80) - 1);
  const clear = () => {
    if (status !== "") write("\r\x1b[K");
    status = "";
  };
  const draw = (text: string) => {
    if (!o.tty || o.quiet) return;
    const t = now();
    if (t - drawnAt < REDRAW_MS) return;
    drawnAt = t;
    status = text.length > width ? `${text.slice(0, width - 1)}…` : text;
    write(`\r\x1b[K${status}`);
  };
  const line = (text: string) => {
    clear();
    drawnAt = 0; // a new phase's first status is drawn at once
    write(`gc: ${text}\n`);
  };
  const toLog = (chunk: Buffer) => {
    if (o.logFile === null || logFailed !== null) return;
    try {
      log ??= openSync(o.logFile, "a", 0o600);
      writeSync(log, chunk);
    } catch (err) {
      logFailed = (err as Error).message;
    }
  };
  const collectorStatus = () => {
    const c = reader.counts;
    if (c.blobsEligible === null)
      return `gc: garbage-collect marking: ${c.manifestsMarked} manifests, ${c.blobsMarked} blob references`;
    return `gc: garbage-collect deleting blobs: ${c.blobsDeleted}/${c.blobsEligible}`;
  };

  return {
    collector: reader.counts,
    phase(text) {
      if (!o.quiet) line(text);
    },
    failed(text) {
      line(`FAILED: ${text}`);
    },
    scanning(root) {
      if (!o.quiet) line(`reading the storage under ${root}`);
      const seen = { repositories: 0, revisions: 0, tags: 0 };
      return {
        repository(r) {
          seen.repositories++;
          seen.revisions += r.revisions.length;
          seen.tags += r.tags.size;
          const { repositories, revisions, tags } = seen;
          draw(
            `gc: reading the storage: ${repositories} repositories, ${revisions} manifests, ${tags} tags (${r.name})`,
          );
        },
        read(plan) {
          const untagged = untaggedCount(plan);
          const { repositories, revisions, tags } = seen;
          if (!o.quiet)
            line(
              `read ${repositories} repositories: ${revisions} manifests, ${tags} tags, ${untagged} manifests untagged`,
            );
        },
      };
    },
    deleting(plan, url) {
      const total = untaggedCount(plan);
      const bytes = plan.bytes;
      Object.assign(deletes, { done: 0, total, bytes });
      if (!o.quiet)
        line(`deleting ${total} untagged manifests (${formatBytes(bytes)}) by digest through ${url}`);
    },
    counting(deleter) {
      const tick = () => {
        deletes.done++;
        const { done, total, bytes } = deletes;
        draw(
          `gc: deleting untagged manifests by digest: ${done}/${total} (plan frees ${formatBytes(bytes)})`,
        );
      };
      return {
        delete: (name, digest) => deleter.delete(name, digest).finally(tick),
        close: () => deleter.close(),
      };
    },
    collecting() {
      const where = o.verbose ? "below" : (o.logFile ?? "not kept");
      if (!o.quiet) line(`running garbage-collect (its output: ${where})`);
      return (chunk) => {
        toLog(chunk);
        for (const l of reader.push(chunk.toString("utf8"))) if (l.trim()) tail.push(l);
        tail.splice(0, Math.max(0, tail.length - TAIL_LINES));
        if (o.verbose && !o.quiet) {
          clear();
          write(chunk.toString("utf8"));
        } else draw(collectorStatus());
      };
    },
    restarting() {
      return (chunk) => {
        toLog(chunk);
        if (o.quiet) return;
        clear();
        write(chunk.toString("utf8"));
      };
    },
    summary(result) {
      clear();
      if (log !== null) closeSync(log);
      log = null;
      if (result.exitCode !== 0 && (o.quiet || !o.verbose) && tail.length > 0) {
        write(`gc: garbage-collect's last lines:\n${tail.map((l) => `  ${l}\n`).join("")}`);
      }
      write(summaryLine(result, reader.counts, ((now() - started) / 1000).toFixed(1)));
      if (logFailed !== null)
        write(`gc: garbage-collect's output was not kept: ${o.logFile}: ${logFailed}\n`);
      else if (o.logFile !== null && reader.counts.lines > 0)
        write(`gc: garbage-collect's output: ${o.logFile}\n`);
    },
  };
}
