/**
 * The report: one row per measure with the medians per target, each target's
 * ratio to direct access (and its range over the rounds), the issue's target
 * and whether the proxy meets it. Printed as a Markdown table (it goes into the
 * README as is) and returned as plain data for the JSON file.
 */

import type { Better, Target } from "./results.js";
import type { BenchContext } from "./rounds.js";

export interface Row {
  measure: string;
  unit: string;
  direct: number | null;
  proxy: number | null;
  bare: number | null;
  nginx: number | null;
  /** Speed ratio to direct (above 1: faster than direct), median and range over rounds. */
  proxyRatio: number | null;
  proxyRatioRange: [number, number] | null;
  bareRatio: number | null;
  nginxRatio: number | null;
  target: string;
  met: boolean | null;
}

export interface Extras {
  deletes: {
    sequentialMs: number[];
    parallelMs: number[];
    firstRequests: number;
    steadyRequests: number;
    steadyByMethod: Record<string, number>;
  } | null;
  big: { mib: number; pull: Partial<Record<Target, number>>; push: Partial<Record<Target, number>> } | null;
}

const num = (x: number | null | undefined): number | null =>
  x === undefined || x === null || Number.isNaN(x) ? null : x;

function rowFor(
  ctx: BenchContext,
  key: string,
  measure: string,
  unit: string,
  better: Better,
  target = "",
  check?: (proxyRatio: number) => boolean,
  baseKey = key,
): Row {
  const { rec } = ctx;
  const has = (t: Target) => rec.values(key, t).length > 0;
  const proxyRatio = has("proxy") ? num(rec.ratio(key, "proxy", better, baseKey)) : null;
  return {
    measure,
    unit,
    direct: num(rec.median(baseKey === key ? key : baseKey, "direct")),
    proxy: has("proxy") ? num(rec.median(key, "proxy")) : null,
    bare: has("bare") ? num(rec.median(key, "bare")) : null,
    nginx: has("nginx") ? num(rec.median(key, "nginx")) : null,
    proxyRatio,
    proxyRatioRange: has("proxy") ? rec.ratioRange(key, "proxy", better, baseKey) : null,
    bareRatio: has("bare") ? num(rec.ratio(key, "bare", better, baseKey)) : null,
    nginxRatio: has("nginx") ? num(rec.ratio(key, "nginx", better, baseKey)) : null,
    target,
    met: check && proxyRatio !== null ? check(proxyRatio) : null,
  };
}

function plain(
  measure: string,
  unit: string,
  values: Partial<Record<Target, number>>,
  target = "",
  met: boolean | null = null,
): Row {
  return {
    measure,
    unit,
    direct: num(values.direct),
    proxy: num(values.proxy),
    bare: num(values.bare),
    nginx: num(values.nginx),
    proxyRatio: null,
    proxyRatioRange: null,
    bareRatio: null,
    nginxRatio: null,
    target,
    met,
  };
}

function p99Row(ctx: BenchContext, m: "get" | "head" | "lat1", measure: string): Row {
  const row = rowFor(ctx, `${m}_p99_ms`, measure, "ms", "lower", "added ≤ 2 ms");
  const added = (row.proxy ?? Number.NaN) - (row.direct ?? Number.NaN);
  row.met = Number.isNaN(added) ? null : added <= 2;
  return row;
}

export function buildRows(ctx: BenchContext, extras: Extras): Row[] {
  const atLeast = (x: number) => (r: number) => r >= x;
  const rows: Row[] = [];
  const mib = Math.round(ctx.blob.size / 1024 / 1024);
  const pull = rowFor(ctx, "pull_mibs", `blob pull, ${mib} MiB`, "MiB/s", "higher", "≥ nginx/direct");
  // The pull target is nginx's own ratio to direct in the same run.
  if (pull.proxyRatio !== null && pull.nginxRatio !== null) pull.met = pull.proxyRatio >= pull.nginxRatio;
  rows.push(pull);
  rows.push(rowFor(ctx, "push_mibs", `blob push, ${mib} MiB`, "MiB/s", "higher", "≥ 0.9x", atLeast(0.9)));
  for (const [m, label] of [
    ["get", "manifest GET"],
    ["head", "manifest HEAD"],
  ] as const) {
    rows.push(
      rowFor(
        ctx,
        `${m}_rps`,
        `${label}, ${ctx.settings.connections} connections`,
        "req/s",
        "higher",
        "≥ 0.8x",
        atLeast(0.8),
      ),
    );
    rows.push(rowFor(ctx, `${m}_p50_ms`, `${label} p50 latency`, "ms", "lower"));
    rows.push(p99Row(ctx, m, `${label} p99 latency`));
  }
  if (ctx.rec.values("lat1_p50_ms", "direct").length > 0) {
    rows.push(rowFor(ctx, "lat1_p50_ms", "manifest GET p50 latency, 1 connection", "ms", "lower"));
    rows.push(p99Row(ctx, "lat1", "manifest GET p99 latency, 1 connection"));
  }
  for (const { label, tags } of ctx.tagRepos) {
    const n = tags.toLocaleString("en-US");
    rows.push(rowFor(ctx, `list${label}_ms`, `tags/list, ${n} tags (one request)`, "ms", "lower"));
  }
  for (const { label, tags } of ctx.tagRepos) {
    const n = tags.toLocaleString("en-US");
    const first = label === ctx.tagRepos[0]?.label;
    const vsList = (key: string, measure: string, target = "", check?: (r: number) => boolean) =>
      rows.push(rowFor(ctx, `${key}${label}_ms`, measure, "ms", "lower", target, check, `list${label}_ms`));
    vsList(
      "page",
      `tags/_list?n=100 first page, ${n} tags, cold cache vs one direct tags/list`,
      first ? "≥ 0.8x" : "",
      first ? atLeast(0.8) : undefined,
    );
    vsList("warmpage", `tags/_list?n=100 page, ${n} tags, cached vs one direct tags/list`);
    vsList(
      "walk",
      `tags/_list?n=100 walk, ${n} tags (${Math.ceil(tags / 100)} pages) vs one direct tags/list`,
    );
  }
  const cpu = (t: Target, kind: string) => ctx.cpu[t].per(kind);
  for (const [kind, label] of [
    ["get", "GET"],
    ["head", "HEAD"],
  ] as const) {
    const proxyUs = cpu("proxy", kind) * 1e6;
    const nginxUs = cpu("nginx", kind) * 1e6;
    const vsNginx = proxyUs / nginxUs;
    const row = plain(
      `CPU per manifest ${label} (proxy/nginx ${Number.isFinite(vsNginx) ? `${vsNginx.toFixed(1)}x` : "–"})`,
      "µs",
      { proxy: proxyUs, bare: cpu("bare", kind) * 1e6, nginx: nginxUs },
      kind === "get" ? "≤ 3x nginx (moonshot 2x)" : "",
      kind === "get" && Number.isFinite(vsNginx) ? vsNginx <= 3 : null,
    );
    rows.push(row);
  }
  const perGib = (kind: string) => ({
    proxy: cpu("proxy", kind),
    bare: cpu("bare", kind),
    nginx: cpu("nginx", kind),
  });
  rows.push(plain("CPU per GiB pulled", "s", perGib("pull")));
  rows.push(plain("CPU per GiB pushed", "s", perGib("push")));
  rows.push(plain("peak RSS over the whole run (every test)", "MiB", ctx.peaks["run"] ?? {}));
  if (extras.big) {
    const b = extras.big;
    rows.push(plain(`blob pull, ${b.mib} MiB (one pass)`, "MiB/s", b.pull));
    rows.push(plain(`blob push, ${b.mib} MiB (one pass)`, "MiB/s", b.push));
    for (const direction of ["pull", "push"] as const) {
      const peak = ctx.peaks[`big-${direction}`] ?? {};
      rows.push(
        plain(
          `peak RSS, fresh proxy ${direction === "pull" ? "pulling" : "pushing"} a ${b.mib} MiB blob`,
          "MiB",
          peak,
          "proxy < 100 MiB",
          peak.proxy === undefined ? null : peak.proxy < 100,
        ),
      );
    }
  }
  if (extras.deletes) {
    const d = extras.deletes;
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const seq = med(d.sequentialMs);
    const par = med(d.parallelMs);
    rows.push(plain("100 tag deletes, one after another", "ms", { proxy: seq }));
    rows.push(
      plain("100 tag deletes, all at once", "ms", { proxy: par }, "≤ 0.5x sequential", par <= seq / 2),
    );
    rows.push(
      plain(
        "upstream requests per tag delete (steady state)",
        "requests",
        { proxy: d.steadyRequests },
        "≤ 3",
        d.steadyRequests <= 3,
      ),
    );
  }
  return rows;
}

function fmt(x: number | null, unit: string): string {
  if (x === null) return "–";
  if (unit === "ms") return x < 10 ? x.toFixed(2) : x.toFixed(1);
  if (unit === "s") return x.toFixed(2);
  if (unit === "MiB") return x.toFixed(1);
  return x >= 100 ? x.toFixed(0) : x.toFixed(1);
}

function ratio(r: number | null, range: [number, number] | null = null): string {
  if (r === null) return "–";
  const base = `${r.toFixed(2)}x`;
  return range && !Number.isNaN(range[0]) ? `${base} (${range[0].toFixed(2)}–${range[1].toFixed(2)})` : base;
}

export function renderTable(rows: readonly Row[]): string {
  const head =
    "| measure | unit | direct | proxy | proxy/direct (range) | bare forward | bare/direct | nginx | nginx/direct | target | proxy meets |";
  const sep = "|---|---|--:|--:|--:|--:|--:|--:|--:|---|---|";
  const lines = rows.map((r) =>
    [
      r.measure,
      r.unit,
      fmt(r.direct, r.unit),
      fmt(r.proxy, r.unit),
      ratio(r.proxyRatio, r.proxyRatioRange),
      fmt(r.bare, r.unit),
      ratio(r.bareRatio),
      fmt(r.nginx, r.unit),
      ratio(r.nginxRatio),
      r.target || "",
      r.met === null ? "" : r.met ? "yes" : "**no**",
    ].join(" | "),
  );
  return [head, sep, ...lines.map((l) => `| ${l} |`)].join("\n");
}
