/**
 * What `gc` prints: a table per repository (or one JSON document with --json),
 * and the totals. Pure: the run's result in, lines out.
 */
import { describeWindow } from "../history/undelete-decision.js";
import { formatTable } from "../prune/report.js";
import type { EmptyRepositories } from "./empty-repositories.js";
import { type CollectionPlan, untaggedCount } from "./reachability.js";
import type { DeleteOutcome } from "./steps.js";

/** The tag history's window as gc saw it (docs/history.md). */
export interface GcHistory {
  /** null: not known (not asked, or the proxy could not be asked). */
  windowMs: number | null;
  /** Manifests the window holds. */
  held: number;
  /** Of those, manifests (and their bytes) gc would have deleted without the window. */
  keptManifests: number;
  keptBytes: number;
  /** --apply: held manifests deleted by digest whose revision link gc wrote again, so they survive. */
  relinked?: number;
  /** --apply: held manifests whose content is no longer stored (repository@digest). */
  lost?: string[];
  note?: string;
}

export interface GcResult {
  dryRun: boolean;
  storage: { driver: string; root: string; cache: string };
  plan: CollectionPlan;
  history?: GcHistory;
  /** Repositories without tags: those that go (went: `removed`, after --apply) and those kept. */
  empty?: EmptyRepositories & { removed?: string[] };
  /** After --apply: bytes measured gone from disk, per repository and in total. */
  freed?: { repositories: Record<string, number>; orphans: number; total: number };
  deletes: DeleteOutcome[];
  steps: { name: string; ok: boolean; detail: string }[];
  exitCode: number;
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

export function resultJson(r: GcResult): string {
  return JSON.stringify({
    dryRun: r.dryRun,
    storage: r.storage,
    repositories: r.plan.repositories.map((p) => ({
      name: p.name,
      unreachable: p.unreachable,
      bytes: p.bytes,
      ...(r.freed ? { freedBytes: r.freed.repositories[p.name] ?? 0 } : {}),
    })),
    orphanBytes: [...r.plan.orphans.values()].reduce((a, b) => a + b, 0),
    bytes: r.plan.bytes,
    ...(r.freed ? { freedBytes: r.freed.total } : {}),
    ...(r.history ? { history: r.history } : {}),
    ...(r.empty ? { emptyRepositories: r.empty } : {}),
    deletes: r.deletes,
    steps: r.steps,
    exitCode: r.exitCode,
  });
}

export function resultLines(r: GcResult): string[] {
  const lines = [
    `gc: ${r.dryRun ? "dry run, nothing changes" : "applied"} · storage ${r.storage.driver} ${r.storage.root} · blob descriptor cache: ${r.storage.cache}`,
  ];
  const rows: string[][] = [
    r.dryRun ? ["REPOSITORY", "UNTAGGED", "WOULD FREE"] : ["REPOSITORY", "DELETED", "PLANNED", "FREED"],
  ];
  for (const p of r.plan.repositories) {
    if (p.unreachable.length === 0) continue;
    const deleted = r.deletes.filter((d) => d.repository === p.name && d.result !== "failed").length;
    rows.push(
      r.dryRun
        ? [p.name, String(p.unreachable.length), formatBytes(p.bytes)]
        : [
            p.name,
            `${deleted}/${p.unreachable.length}`,
            formatBytes(p.bytes),
            formatBytes(r.freed?.repositories[p.name] ?? 0),
          ],
    );
  }
  if (rows.length === 1) lines.push("  every manifest is reachable from a tag");
  else lines.push(...formatTable(rows));
  if (r.dryRun) {
    for (const p of r.plan.repositories) for (const d of p.unreachable) lines.push(`  ${p.name}@${d}`);
  }
  for (const d of r.deletes)
    if (d.result === "failed") lines.push(`  failed: DELETE ${d.repository}@${d.digest}: ${d.reason}`);
  for (const s of r.steps)
    lines.push(`  ${s.ok ? "ok" : "FAILED"}: ${s.name}${s.detail ? ` (${s.detail})` : ""}`);
  if (r.empty) lines.push(...emptyLines(r.empty, r.dryRun));
  if (r.history) lines.push(historyLine(r.history));
  for (const l of r.history?.lost ?? [])
    lines.push(`  history: ${l} is no longer stored (cannot be undeleted)`);
  const manifests = untaggedCount(r.plan);
  const orphans = [...r.plan.orphans.values()].reduce((a, b) => a + b, 0);
  const orphanNote =
    orphans > 0 ? ` (${formatBytes(orphans)} of it in blobs no manifest refers to already)` : "";
  lines.push(
    r.freed
      ? `total: ${manifests} untagged manifests, ${formatBytes(r.freed.total)} freed (${r.freed.total} bytes; planned ${formatBytes(r.plan.bytes)})`
      : `total: ${manifests} untagged manifests, ${formatBytes(r.plan.bytes)} would be freed${orphanNote}`,
  );
  return lines;
}

/** One line on the tag history's window: what it holds, and what it keeps from this run. */
export function historyLine(h: GcHistory): string {
  if (h.windowMs === null)
    return `history window: unknown (${h.note ?? "not asked"}); the plan keeps nothing for it`;
  if (h.windowMs === 0) return `history window: off${h.note ? ` (${h.note})` : ""}`;
  const span = describeWindow(h.windowMs);
  const relinked = h.relinked ? `; ${h.relinked} deleted by digest kept for undelete` : "";
  return `history window (${span}): holds ${h.held} manifests; keeps ${h.keptManifests} untagged manifests, ${formatBytes(h.keptBytes)} (${h.keptBytes} bytes) from collection${relinked}`;
}

/** The repositories without tags: those that go (or went), and those kept with the reason. */
export function emptyLines(e: NonNullable<GcResult["empty"]>, dryRun: boolean): string[] {
  const gone = dryRun ? e.remove : (e.removed ?? []);
  const lines = [
    gone.length === 0
      ? "repositories without tags: none to remove"
      : `repositories without tags ${dryRun ? "that would be removed" : "removed"}: ${gone.length}`,
  ];
  for (const name of gone) lines.push(`  ${name}`);
  for (const k of e.kept) lines.push(`  kept: ${k.name} (${k.because})`);
  return lines;
}
