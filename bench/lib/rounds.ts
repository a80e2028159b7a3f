/**
 * The interleaved rounds: every test runs on every target before the next test,
 * and the order of the targets rotates from round to round (A B C, B C A, C A B),
 * so slow drifts of a shared machine fall on all targets alike. Around each run
 * the target's process (proxy, nginx worker) is metered: CPU seconds per unit of
 * work, and the peak RSS of the run (reset before it).
 */
import { type BlobFile, pullBlob, pushBlob } from "./blobs.js";
import { runLoad } from "./loadgen.js";
import type { ProcessMeter } from "./procfs.js";
import { CpuAccount, Recorder, type Target } from "./results.js";
import { MANIFEST_ACCEPT } from "./seed.js";
import { medianOf, timeFirstPage, timeFullList, timeWalk } from "./tags.js";

export interface Endpoint {
  target: Target;
  url: string;
  /** The process that does the proxying (null for direct access). */
  meter: ProcessMeter | null;
}

export interface BenchSettings {
  rounds: number;
  wrkSeconds: number;
  connections: number;
  wrkThreads: number;
  listRuns: number;
  tests: ReadonlySet<string>;
}

export interface TagRepo {
  repo: string;
  tags: number;
  /** Short label: 1k, 10k. */
  label: string;
}

export interface BenchContext {
  settings: BenchSettings;
  rec: Recorder;
  cpu: Record<Target, CpuAccount>;
  /** Peak RSS (MiB) per phase and target, the highest seen over the rounds. */
  peaks: Record<string, Partial<Record<Target, number>>>;
  blob: BlobFile;
  manifestRepo: string;
  tagRepos: readonly TagRepo[];
  scriptDir: string;
}

export function newContext(
  settings: BenchSettings,
  rest: Omit<BenchContext, "settings" | "rec" | "cpu" | "peaks">,
): BenchContext {
  return {
    settings,
    rec: new Recorder(),
    cpu: {
      direct: new CpuAccount(),
      proxy: new CpuAccount(),
      bare: new CpuAccount(),
      nginx: new CpuAccount(),
    },
    peaks: {},
    ...rest,
  };
}

/** Runs `fn` on `ep`, metering its process; `fn` returns the work done (GiB, requests). */
export async function metered(
  ctx: BenchContext,
  ep: Endpoint,
  phase: string,
  kind: string,
  fn: () => Promise<number>,
): Promise<void> {
  const meter = ep.meter;
  if (meter) notePeak(ctx, "run", ep.target, meter.peakRssMiB());
  meter?.resetPeak();
  const cpu0 = meter?.cpuSeconds() ?? 0;
  const work = await fn();
  if (!meter) return;
  ctx.cpu[ep.target].add(kind, meter.cpuSeconds() - cpu0, work);
  notePeak(ctx, phase, ep.target, meter.peakRssMiB());
  if (!phase.startsWith("big")) notePeak(ctx, "run", ep.target, meter.peakRssMiB());
}

/** Keeps the highest peak RSS seen for a phase ("run": the whole run, between resets too). */
export function notePeak(ctx: BenchContext, phase: string, target: Target, mib: number): void {
  ctx.peaks[phase] ??= {};
  const byTarget = ctx.peaks[phase];
  byTarget[target] = Math.max(byTarget[target] ?? 0, mib);
}

const GIB = 1024 ** 3;

type Test = (ctx: BenchContext, ep: Endpoint, round: number) => Promise<void>;

const TESTS: Record<string, Test> = {
  async pull(ctx, ep) {
    await metered(ctx, ep, "blob", "pull", async () => {
      ctx.rec.add("pull_mibs", ep.target, await pullBlob(ep.url, "bench/blob", ctx.blob));
      return ctx.blob.size / GIB;
    });
  },
  async push(ctx, ep, round) {
    await metered(ctx, ep, "blob", "push", async () => {
      const mibs = await pushBlob(ep.url, `bench/push-${ep.target}-${round}`, ctx.blob);
      ctx.rec.add("push_mibs", ep.target, mibs);
      return ctx.blob.size / GIB;
    });
  },
  /** Added latency without queueing: one connection, one request at a time. */
  async latency(ctx, ep) {
    const r = await runLoad(
      {
        url: `${ep.url}/v2/${ctx.manifestRepo}/manifests/latest`,
        method: "GET",
        headers: { Accept: MANIFEST_ACCEPT },
        connections: 1,
        threads: 1,
        // A second gives about a thousand requests here: enough for a p99, and keeps the run short.
        seconds: Math.max(1, ctx.settings.wrkSeconds - 1),
      },
      ctx.scriptDir,
    );
    if (r.errors > 0) throw new Error(`GET manifest (1 connection) through ${ep.target}: ${r.errors} errors`);
    ctx.rec.add("lat1_p50_ms", ep.target, r.p50Ms);
    ctx.rec.add("lat1_p99_ms", ep.target, r.p99Ms);
  },
  get: (ctx, ep) => manifestLoad(ctx, ep, "GET"),
  head: (ctx, ep) => manifestLoad(ctx, ep, "HEAD"),
  async lists(ctx, ep) {
    for (const { repo, tags, label } of ctx.tagRepos) {
      const runs = ctx.settings.listRuns;
      ctx.rec.add(`list${label}_ms`, ep.target, await medianOf(runs, () => timeFullList(ep.url, repo, tags)));
      if (ep.target === "proxy") {
        const add = async (key: string, fn: () => Promise<number>) =>
          ctx.rec.add(`${key}${label}_ms`, ep.target, await medianOf(runs, fn));
        await add("page", () => timeFirstPage(ep.url, repo, 100, true));
        await add("warmpage", () => timeFirstPage(ep.url, repo, 100, false));
        await add("walk", () => timeWalk(ep.url, repo, 100, tags));
      }
    }
  },
};

export const TEST_NAMES = Object.keys(TESTS);

async function manifestLoad(ctx: BenchContext, ep: Endpoint, method: "GET" | "HEAD"): Promise<void> {
  const s = ctx.settings;
  await metered(ctx, ep, "manifests", method.toLowerCase(), async () => {
    const r = await runLoad(
      {
        url: `${ep.url}/v2/${ctx.manifestRepo}/manifests/latest`,
        method,
        headers: { Accept: MANIFEST_ACCEPT },
        connections: s.connections,
        threads: s.wrkThreads,
        seconds: s.wrkSeconds,
      },
      ctx.scriptDir,
    );
    if (r.errors > 0) throw new Error(`${method} manifest through ${ep.target}: ${r.errors} errors`);
    const m = method.toLowerCase();
    ctx.rec.add(`${m}_rps`, ep.target, r.rps);
    ctx.rec.add(`${m}_p50_ms`, ep.target, r.p50Ms);
    ctx.rec.add(`${m}_p99_ms`, ep.target, r.p99Ms);
    return r.requests;
  });
}

/** A short run of every target first: JIT, connection pools, the registry's caches. */
export async function warmUp(ctx: BenchContext, endpoints: readonly Endpoint[]): Promise<void> {
  for (const ep of endpoints) {
    for (const method of ["GET", "HEAD"] as const) {
      if (!ctx.settings.tests.has(method.toLowerCase())) continue;
      await runLoad(
        {
          url: `${ep.url}/v2/${ctx.manifestRepo}/manifests/latest`,
          method,
          headers: { Accept: MANIFEST_ACCEPT },
          connections: ctx.settings.connections,
          threads: ctx.settings.wrkThreads,
          seconds: 1,
        },
        ctx.scriptDir,
      );
    }
    for (const { repo, tags } of ctx.tagRepos) await timeFullList(ep.url, repo, tags);
  }
}

/** The rotation of round `r`: A B C, B C A, C A B, ... */
export function rotation<T>(items: readonly T[], r: number): T[] {
  const k = r % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

export async function runRounds(
  ctx: BenchContext,
  endpoints: readonly Endpoint[],
  progress: (msg: string) => void,
): Promise<void> {
  for (let r = 0; r < ctx.settings.rounds; r++) {
    const order = rotation(endpoints, r);
    progress(`round ${r + 1}/${ctx.settings.rounds}: ${order.map((e) => e.target).join(" ")}`);
    for (const name of TEST_NAMES) {
      if (!ctx.settings.tests.has(name)) continue;
      for (const ep of order) await TESTS[name]!(ctx, ep, r);
    }
  }
}
