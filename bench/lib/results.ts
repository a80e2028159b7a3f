/**
 * Samples per measure and target (one per round), their medians and spreads,
 * and the ratios to direct access. Pure bookkeeping, no I/O.
 */

/** `bare`: a bare Node + http-proxy-3 forward (bench/bare/), the floor of the proxy's stack. */
export type Target = "direct" | "proxy" | "bare" | "nginx";
export const TARGETS: readonly Target[] = ["direct", "proxy", "bare", "nginx"];

/** Whether a larger value is better (throughput) or a smaller one (times, latencies, costs). */
export type Better = "higher" | "lower";

export interface Measure {
  key: string;
  label: string;
  unit: string;
  better: Better;
}

export type Samples = Record<string, Partial<Record<Target, number[]>>>;

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export class Recorder {
  readonly samples: Samples = {};

  add(key: string, target: Target, value: number): void {
    this.samples[key] ??= {};
    const byTarget = this.samples[key];
    byTarget[target] ??= [];
    byTarget[target].push(value);
  }

  values(key: string, target: Target): number[] {
    return this.samples[key]?.[target] ?? [];
  }

  median(key: string, target: Target): number {
    return median(this.values(key, target));
  }

  /**
   * The speed ratio of `target` to direct for a measure, from the medians: above 1
   * means faster than direct whichever way the unit runs (MiB/s: target/direct;
   * milliseconds: direct/target).
   */
  ratio(key: string, target: Target, better: Better, baseKey = key): number {
    const t = this.median(key, target);
    const d = this.median(baseKey, "direct");
    return better === "higher" ? t / d : d / t;
  }

  /** The same ratio round by round (samples paired by index): min and max show the spread. */
  ratioRange(key: string, target: Target, better: Better, baseKey = key): [number, number] {
    const t = this.values(key, target);
    const d = this.values(baseKey, "direct");
    const rs = t.slice(0, d.length).map((v, i) => (better === "higher" ? v / d[i]! : d[i]! / v));
    return rs.length === 0 ? [Number.NaN, Number.NaN] : [Math.min(...rs), Math.max(...rs)];
  }
}

/** CPU seconds and work done, summed over the runs of one kind for one process. */
export class CpuAccount {
  private readonly sums: Record<string, { cpu: number; work: number }> = {};

  add(kind: string, cpuSeconds: number, work: number): void {
    this.sums[kind] ??= { cpu: 0, work: 0 };
    const s = this.sums[kind];
    s.cpu += cpuSeconds;
    s.work += work;
  }

  /** CPU seconds per unit of work (NaN when nothing was recorded). */
  per(kind: string): number {
    const s = this.sums[kind];
    return s && s.work > 0 ? s.cpu / s.work : Number.NaN;
  }

  snapshot(): Record<string, { cpu: number; work: number }> {
    return JSON.parse(JSON.stringify(this.sums)) as Record<string, { cpu: number; work: number }>;
  }
}
