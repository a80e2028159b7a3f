/**
 * The sidecar load profile (issue 26): rounds of a few pulls of a large blob,
 * seconds of manifest GETs on many connections, and seconds of `tags/list?n=100`
 * on a repository of 1,000 tags, run on every target in one interleaved run: each
 * phase runs on every target before the next phase, the order of the targets
 * rotating from round to round. Each target is one process for the whole run (as
 * a sidecar lives), so its peak RSS (VmHWM, never reset) is that of the whole load.
 */
import { type BlobFile, pullBlob } from "./blobs.js";
import type { ProcessMeter } from "./procfs.js";
import { rotation } from "./rounds.js";
import { MANIFEST_ACCEPT } from "./seed.js";
import { runWrk } from "./wrk.js";

export interface SidecarTarget {
  /** `proxy`, `bare`, `nginx`, `direct`. */
  kind: string;
  /** The runtime (`node20`, `node24`), or `` for nginx and direct. */
  runtime: string;
  url: string;
  meter: ProcessMeter | null;
}

export interface LoadProfile {
  rounds: number;
  pulls: number;
  seconds: number;
  connections: number;
  blob: BlobFile;
  blobRepo: string;
  manifestRepo: string;
  tagRepo: string;
  scriptDir: string;
  /** The phases to run (default: all three). */
  phases?: ReadonlySet<string>;
}

/** Per target: one sample per round and phase (CPU seconds, work, wall seconds), peaks after each round. */
export interface TargetSamples {
  pull: { cpu: number; gib: number; mibs: number }[];
  get: { cpu: number; requests: number; rps: number }[];
  tags: { cpu: number; requests: number; rps: number }[];
  peakAfterRound: number[];
  /** The phase (`round 2 tags`) after which the peak RSS was first at its final value. */
  peakPhase: string;
}

export const nameOf = (t: SidecarTarget): string => (t.runtime ? `${t.kind} (${t.runtime})` : t.kind);

async function meteredRun<T>(t: SidecarTarget, fn: () => Promise<T>): Promise<{ cpu: number; result: T }> {
  const c0 = t.meter?.cpuSeconds() ?? 0;
  const result = await fn();
  return { cpu: (t.meter?.cpuSeconds() ?? 0) - c0, result };
}

async function wrkPhase(t: SidecarTarget, p: LoadProfile, path: string, accept: string) {
  const { cpu, result } = await meteredRun(t, () =>
    runWrk(
      {
        url: `${t.url}${path}`,
        method: "GET",
        headers: { Accept: accept },
        connections: p.connections,
        threads: 2,
        seconds: p.seconds,
      },
      p.scriptDir,
    ),
  );
  if (result.errors > 0) throw new Error(`GET ${path} through ${nameOf(t)}: ${result.errors} errors`);
  return { cpu, requests: result.requests, rps: result.rps };
}

const PHASES = {
  async pull(t: SidecarTarget, p: LoadProfile, s: TargetSamples) {
    const { cpu, result } = await meteredRun(t, async () => {
      const rates: number[] = [];
      for (let i = 0; i < p.pulls; i++) rates.push(await pullBlob(t.url, p.blobRepo, p.blob));
      return rates;
    });
    const mibs = result.reduce((a, b) => a + b, 0) / result.length;
    s.pull.push({ cpu, gib: (p.pulls * p.blob.size) / 1024 ** 3, mibs });
  },
  async get(t: SidecarTarget, p: LoadProfile, s: TargetSamples) {
    s.get.push(await wrkPhase(t, p, `/v2/${p.manifestRepo}/manifests/latest`, MANIFEST_ACCEPT));
  },
  async tags(t: SidecarTarget, p: LoadProfile, s: TargetSamples) {
    s.tags.push(await wrkPhase(t, p, `/v2/${p.tagRepo}/tags/list?n=100`, "application/json"));
  },
};

export async function runProfile(
  targets: readonly SidecarTarget[],
  p: LoadProfile,
  progress: (m: string) => void,
): Promise<Map<SidecarTarget, TargetSamples>> {
  const samples = new Map<SidecarTarget, TargetSamples>(
    targets.map((t) => [t, { pull: [], get: [], tags: [], peakAfterRound: [], peakPhase: "" }]),
  );
  for (let r = 0; r < p.rounds; r++) {
    const order = rotation(targets, r);
    progress(`round ${r + 1}/${p.rounds}: ${order.map(nameOf).join(", ")}`);
    for (const [name, phase] of Object.entries(PHASES)) {
      if (p.phases && !p.phases.has(name)) continue;
      for (const t of order) {
        const s = samples.get(t)!;
        const before = t.meter?.peakRssMiB() ?? 0;
        await phase(t, p, s);
        if ((t.meter?.peakRssMiB() ?? 0) > before) s.peakPhase = `round ${r + 1} ${name}`;
      }
    }
    for (const t of targets) samples.get(t)!.peakAfterRound.push(t.meter?.peakRssMiB() ?? Number.NaN);
  }
  return samples;
}
