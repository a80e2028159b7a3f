/**
 * What `gc` prints: a table per repository (or one JSON document with --json),
 * and the totals. Pure: the run's result in, lines out.
 */
import { formatTable } from "../prune/report.js";
import type { CollectionPlan } from "./reachability.js";
import type { DeleteOutcome } from "./steps.js";

export interface GcResult {
  dryRun: boolean;
  storage: { driver: string; root: string; cache: string };
  plan: CollectionPlan;
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
  const manifests = r.plan.repositories.reduce((n, p) => n + p.unreachable.length, 0);
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
