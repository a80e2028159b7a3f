/**
 * The `nginx-tier` target: deploy/nginx/run.sh in front of the registry and the
 * proxy, measured against plain nginx (distribution's recipe, bench/lib/nginx.ts)
 * in the same run, interleaved round by round. The tier must cost nothing where it
 * routes to the registry (blob pull and push, manifest GET/HEAD: within 10% of plain
 * nginx) and serve `tags/_list` as the proxy does.
 *
 * The tier runs with `--strict-uploads off`: pushes go straight to the registry.
 * With it on, every upload request goes through the proxy and a push costs what the
 * proxy column's push costs.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type BlobFile, pullBlob, pushBlob } from "./blobs.js";
import { runLoad } from "./loadgen.js";
import { accepts, freePort } from "./ports.js";
import { childPids, meterOf, type ProcessMeter } from "./procfs.js";
import { MANIFEST_ACCEPT } from "./seed.js";
import { medianOf, timeFirstPage, timeFullList } from "./tags.js";

const RUN_SH = join(
  resolve(dirname(fileURLToPath(import.meta.url)), "..", ".."),
  "deploy",
  "nginx",
  "run.sh",
);

export interface RunningTier {
  readonly url: string;
  /** nginx's worker process(es). */
  readonly workers: ProcessMeter;
  stop(): Promise<void>;
}

function stopped(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((res) => {
    child.once("exit", () => res());
    child.kill("SIGTERM");
  });
}

/** Starts the tier (run.sh) on a free loopback port; retried when the port is lost. */
export async function startNginxTier(
  registryUrl: string,
  proxyUrl: string,
  accessLog: string,
): Promise<RunningTier> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const child = spawn(
      "bash",
      [
        RUN_SH,
        ...["--listen", `127.0.0.1:${port}`, "--registry", registryUrl, "--proxy", proxyUrl],
        ...["--strict-uploads", "off", "--access-log", accessLog],
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    let up = false;
    for (let i = 0; i < 600 && child.exitCode === null; i++) {
      if (await accepts(port)) {
        up = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!up) {
      await stopped(child);
      if (/Address already in use/.test(stderr)) continue;
      throw new Error(`nginx tier did not start: ${stderr}`);
    }
    // run.sh (bash) -> nginx master -> workers.
    let workers: number[] = [];
    const workerPids = () => {
      if (workers.length === 0) workers = childPids(child.pid!).flatMap((master) => childPids(master));
      return workers;
    };
    return { url: `http://127.0.0.1:${port}`, workers: meterOf(workerPids), stop: () => stopped(child) };
  }
  throw new Error("nginx tier: no free port after 5 attempts");
}

export interface TierBenchOptions {
  plainNginx: { url: string; workers: ProcessMeter };
  tier: RunningTier;
  blob: BlobFile;
  /** A repository whose `latest` manifest the GET/HEAD runs ask for. */
  manifestRepo: string;
  /** A repository with `tags` tags, for `tags/list` and `tags/_list?n=100`. */
  tagRepo: { repo: string; tags: number } | null;
  rounds: number;
  wrkSeconds: number;
  connections: number;
  scriptDir: string;
  log: (msg: string) => void;
}

type Side = "nginx" | "nginx-tier";

export interface TierRow {
  test: string;
  unit: string;
  nginx: number | null;
  tier: number;
  /** tier / nginx, higher is better for every row with a ratio. */
  ratio: number | null;
  /** Lowest and highest sample of each side, over the rounds. */
  range: { nginx: [number, number] | null; tier: [number, number] };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Runs the interleaved rounds and returns one row per measure. */
export async function benchNginxTier(o: TierBenchOptions): Promise<TierRow[]> {
  const sides: { side: Side; url: string; workers: ProcessMeter }[] = [
    { side: "nginx", ...o.plainNginx },
    { side: "nginx-tier", url: o.tier.url, workers: o.tier.workers },
  ];
  const samples = new Map<string, Record<Side, number[]>>();
  const add = (key: string, side: Side, v: number) => {
    if (!samples.has(key)) samples.set(key, { nginx: [], "nginx-tier": [] });
    samples.get(key)![side].push(v);
  };
  const load = async (url: string, method: "GET" | "HEAD") => {
    const r = await runLoad(
      {
        url: `${url}/v2/${o.manifestRepo}/manifests/latest`,
        method,
        headers: { Accept: MANIFEST_ACCEPT },
        connections: o.connections,
        threads: 2,
        seconds: o.wrkSeconds,
      },
      o.scriptDir,
    );
    if (r.errors > 0) throw new Error(`${method} manifest through ${url}: ${r.errors} errors`);
    return r;
  };
  for (const s of sides) await load(s.url, "GET"); // warm-up: keep-alive pools, caches
  for (let round = 0; round < o.rounds; round++) {
    const order = round % 2 === 0 ? sides : [...sides].reverse();
    o.log(`nginx-tier round ${round + 1}/${o.rounds}: ${order.map((s) => s.side).join(" ")}`);
    for (const s of order) {
      add("pull", s.side, await pullBlob(s.url, "bench/blob", o.blob));
      add("push", s.side, await pushBlob(s.url, `bench/tier-push-${s.side}-${round}`, o.blob));
      for (const method of ["GET", "HEAD"] as const) {
        const cpu0 = s.workers.cpuSeconds();
        const r = await load(s.url, method);
        add(method, s.side, r.rps);
        add(`${method}-cpu`, s.side, ((s.workers.cpuSeconds() - cpu0) * 1e6) / r.requests);
      }
      if (o.tagRepo) {
        const { repo, tags } = o.tagRepo;
        add("list", s.side, await medianOf(5, () => timeFullList(s.url, repo, tags)));
        if (s.side === "nginx-tier")
          add("page", s.side, await medianOf(5, () => timeFirstPage(s.url, repo, 100, false)));
      }
    }
  }
  const row = (test: string, key: string, unit: string, ratioed: "higher" | "lower" | null): TierRow => {
    const v = samples.get(key);
    const nginx = v && v.nginx.length > 0 ? median(v.nginx) : null;
    const tier = v ? median(v["nginx-tier"]) : Number.NaN;
    const ratio =
      nginx === null || ratioed === null ? null : ratioed === "higher" ? tier / nginx : nginx / tier;
    const span = (xs: number[]): [number, number] => [Math.min(...xs), Math.max(...xs)];
    const range = {
      nginx: v && v.nginx.length > 0 ? span(v.nginx) : null,
      tier: span(v?.["nginx-tier"] ?? [Number.NaN]),
    };
    return { test, unit, nginx, tier, ratio, range };
  };
  const rows = [
    row("blob pull", "pull", "MiB/s", "higher"),
    row("blob push", "push", "MiB/s", "higher"),
    row("manifest GET", "GET", "req/s", "higher"),
    row("manifest HEAD", "HEAD", "req/s", "higher"),
    row("manifest GET, worker CPU", "GET-cpu", "µs/req", "lower"),
    row("manifest HEAD, worker CPU", "HEAD-cpu", "µs/req", "lower"),
  ];
  if (o.tagRepo) {
    rows.push(row(`tags/list, ${o.tagRepo.tags} tags`, "list", "ms", "lower"));
    rows.push(row(`tags/_list?n=100, ${o.tagRepo.tags} tags (proxy only)`, "page", "ms", null));
  }
  return rows;
}

export function renderTierTable(rows: readonly TierRow[]): string {
  const f = (v: number | null) => (v === null ? "—" : v >= 100 ? v.toFixed(0) : v.toFixed(2));
  const span = (r: [number, number] | null) => (r === null ? "" : ` (${f(r[0])}–${f(r[1])})`);
  return [
    "| nginx tier, median (range) | plain nginx | nginx tier | tier vs plain |",
    "|---|---:|---:|---:|",
    ...rows.map(
      (r) =>
        `| ${r.test} (${r.unit}) | ${f(r.nginx)}${span(r.range.nginx)} | ${f(r.tier)}${span(r.range.tier)} | ${r.ratio === null ? "—" : `${r.ratio.toFixed(2)}x`} |`,
    ),
  ].join("\n");
}
