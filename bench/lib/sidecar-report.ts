/**
 * The sidecar run's tables: per target its peak RSS and costs, and per runtime the
 * proxy against the bare forward on the same Node (the issue's budget: peak RSS
 * within 30 MiB of the bare forward's, CPU per GiB and per GET within 1.25x, pull
 * rate at least 0.9x), with the range of each ratio over the rounds.
 */
import { median } from "./results.js";
import { nameOf, type SidecarTarget, type TargetSamples } from "./sidecar-load.js";

export interface TargetSummary {
  target: string;
  kind: string;
  runtime: string;
  peakRssMiB: number | null;
  /** The phase during which the peak was reached. */
  peakPhase: string;
  pullMibs: number;
  cpuPerGib: number | null;
  getRps: number;
  cpuPerGetUs: number | null;
  tagsRps: number;
  cpuPerTagsUs: number | null;
}

export interface PairSummary {
  runtime: string;
  peakRssOverBareMiB: number | null;
  /** Median of the per-round ratios proxy/bare, and their range. */
  cpuPerGib: [number, number, number];
  cpuPerGet: [number, number, number];
  pullRate: [number, number, number];
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

export function summarize(t: SidecarTarget, s: TargetSamples): TargetSummary {
  const metered = t.meter !== null;
  const peak = s.peakAfterRound.at(-1);
  return {
    target: nameOf(t),
    kind: t.kind,
    runtime: t.runtime,
    peakRssMiB: metered && peak !== undefined ? peak : null,
    peakPhase: s.peakPhase,
    pullMibs: median(s.pull.map((x) => x.mibs)),
    cpuPerGib: metered ? sum(s.pull.map((x) => x.cpu)) / sum(s.pull.map((x) => x.gib)) : null,
    getRps: median(s.get.map((x) => x.rps)),
    cpuPerGetUs: metered ? (sum(s.get.map((x) => x.cpu)) / sum(s.get.map((x) => x.requests))) * 1e6 : null,
    tagsRps: median(s.tags.map((x) => x.rps)),
    cpuPerTagsUs: metered ? (sum(s.tags.map((x) => x.cpu)) / sum(s.tags.map((x) => x.requests))) * 1e6 : null,
  };
}

function ratios(a: number[], b: number[]): [number, number, number] {
  const rs = a.map((v, i) => v / b[i]!);
  if (rs.length === 0) return [Number.NaN, Number.NaN, Number.NaN];
  return [median(rs), Math.min(...rs), Math.max(...rs)];
}

export function pair(runtime: string, proxy: TargetSamples, bare: TargetSamples): PairSummary {
  const perGib = (s: TargetSamples) => s.pull.map((x) => x.cpu / x.gib);
  const perGet = (s: TargetSamples) => s.get.map((x) => x.cpu / x.requests);
  const p = proxy.peakAfterRound.at(-1);
  const b = bare.peakAfterRound.at(-1);
  return {
    runtime,
    peakRssOverBareMiB: p !== undefined && b !== undefined ? p - b : null,
    cpuPerGib: ratios(perGib(proxy), perGib(bare)),
    cpuPerGet: ratios(perGet(proxy), perGet(bare)),
    pullRate: ratios(
      proxy.pull.map((x) => x.mibs),
      bare.pull.map((x) => x.mibs),
    ),
  };
}

const f = (x: number | null, d = 0) => (x === null || Number.isNaN(x) ? "–" : x.toFixed(d));
const r = ([m, lo, hi]: [number, number, number]) =>
  Number.isNaN(m) ? "–" : `${m.toFixed(2)}x (${lo.toFixed(2)}–${hi.toFixed(2)})`;

export function renderTargets(rows: readonly TargetSummary[]): string {
  return [
    "| target | peak RSS, MiB | pull MiB/s | CPU per GiB pulled, s | GET req/s | CPU per GET, µs | tags/list req/s | CPU per tags/list, µs |",
    "|---|--:|--:|--:|--:|--:|--:|--:|",
    ...rows.map(
      (x) =>
        `| ${x.target} | ${f(x.peakRssMiB)}${x.peakPhase ? ` (${x.peakPhase})` : ""} | ${f(x.pullMibs)} | ${f(x.cpuPerGib, 2)} | ${f(x.getRps)} | ` +
        `${f(x.cpuPerGetUs)} | ${f(x.tagsRps)} | ${f(x.cpuPerTagsUs)} |`,
    ),
  ].join("\n");
}

export function renderPairs(pairs: readonly PairSummary[]): string {
  return [
    "| runtime | proxy peak RSS − bare's (≤ 30 MiB) | CPU per GiB, proxy/bare (≤ 1.25x) | CPU per GET, proxy/bare (≤ 1.25x) | pull rate, proxy/bare (≥ 0.9x) |",
    "|---|--:|--:|--:|--:|",
    ...pairs.map(
      (p) =>
        `| ${p.runtime} | ${f(p.peakRssOverBareMiB)} MiB | ${r(p.cpuPerGib)} | ${r(p.cpuPerGet)} | ${r(p.pullRate)} |`,
    ),
  ].join("\n");
}
