/**
 * How fast the web UI's first pages are on a big registry: the first page of a
 * repository with 10,000 tags and of a catalog of 5,000 repositories, cold (the
 * proxy's caches miss: fresh credentials per request) and warm, over HTTP (the
 * whole page received) and in chromium (navigation to the load event).
 *
 *   npx tsx bench/ui-pages.ts [--tags 10000] [--repos 5000] [--runs 5] [--no-browser]
 *
 * Starts its own docker-registry (temporary storage) and proxy in process. Seeds
 * with plain HTTP: one image's blobs, 100 manifests of it (a unique annotation
 * each) and one manifest PUT per tag (16 at a time); each further repository is one
 * cross-repository blob mount (2.8 lists a repository once it has a layer link).
 */
import http from "node:http";
import { performance } from "node:perf_hooks";
import { launchChromium } from "../test/helpers/browser.js";
import { request } from "../test/helpers/http.js";
import { blobOf, makeImage, pushImage } from "../test/helpers/oci.js";
import { startProxy } from "../test/helpers/proxy.js";
import { startRegistry } from "../test/helpers/registry.js";
import { BROWSER_ACCEPT, hooks, tagRows } from "../test/helpers/ui.js";
import { flag, numberOption } from "./lib/args.js";

const TAGS = numberOption("--tags", 10_000);
const REPOS = numberOption("--repos", 5_000);
const RUNS = numberOption("--runs", 5);
const REPO = "bench/many";
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

async function parallel(count: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

async function seed(base: string): Promise<void> {
  const image = makeImage({ layerCount: 3 });
  await pushImage(base, REPO, image, []);
  const doc = JSON.parse(image.manifest.bytes.toString()) as Record<string, unknown>;
  const variants = Array.from({ length: 100 }, (_, i) =>
    blobOf(Buffer.from(JSON.stringify({ ...doc, annotations: { "org.example.build": String(i) } }))),
  );
  let t0 = performance.now();
  await parallel(TAGS, async (i) => {
    const res = await request("PUT", `${base}/v2/${REPO}/manifests/v${i}`, {
      headers: { "content-type": image.mediaType },
      body: variants[i % variants.length]!.bytes,
      agent,
    });
    if (res.status !== 201) throw new Error(`PUT v${i}: ${res.status} ${res.text}`);
  });
  console.log(`seeded ${TAGS} tags in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  t0 = performance.now();
  const layer = image.layers[0]!.digest;
  await parallel(REPOS - 1, async (i) => {
    const path = `/v2/bench/r${String(i).padStart(5, "0")}/blobs/uploads/?mount=${layer}&from=${REPO}`;
    const res = await request("POST", `${base}${path}`, { agent });
    if (res.status !== 201) throw new Error(`mount ${i}: ${res.status} ${res.text}`);
  });
  console.log(`seeded ${REPOS} repositories in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

let counter = 0;
/** One page over HTTP, whole body; `cold`: credentials never seen before (every cache misses). */
async function timedPage(url: string, cold: boolean, check: (html: string) => void): Promise<number> {
  const headers: Record<string, string> = { accept: BROWSER_ACCEPT };
  // The registry is open: any Basic login reads it, and each is a cache key of its own.
  if (cold) headers["authorization"] = `Basic ${Buffer.from(`bench${counter++}:x`).toString("base64")}`;
  const t0 = performance.now();
  const res = await request("GET", url, { agent, headers });
  const ms = performance.now() - t0;
  if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
  check(res.text);
  return ms;
}

function record(results: Record<string, number[]>, label: string, ms: number): void {
  const samples = results[label] ?? [];
  samples.push(ms);
  results[label] = samples;
}

function summary(label: string, samples: number[]): void {
  const s = [...samples].sort((a, b) => a - b);
  const median = s[Math.floor(s.length / 2)]!;
  console.log(
    `${label.padEnd(44)} median ${median.toFixed(0).padStart(5)} ms   max ${s.at(-1)!.toFixed(0).padStart(5)} ms`,
  );
}

async function main(): Promise<void> {
  const registry = await startRegistry();
  const proxy = await startProxy(registry.url, { log: { level: "warn" } });
  try {
    await seed(registry.url);
    const tagsUrl = `${proxy.url}/ui/r/${REPO}`;
    const reposUrl = `${proxy.url}/ui/`;
    const tagsOk = (html: string) => {
      if (tagRows(html).length !== 50) throw new Error("the tags page has not 50 rows");
    };
    const reposOk = (html: string) => {
      if (hooks(html, "repository-row", "data-repository").length !== 100)
        throw new Error("not 100 repositories");
    };
    const results: Record<string, number[]> = {};
    const filteredUrl = `${proxy.url}/ui/?q=bench%2Fr0`;
    const filteredOk = (html: string) => {
      if (hooks(html, "repository-row", "data-repository").length !== 100) throw new Error("not 100 matches");
    };
    // The warm rows' caches filled first.
    await timedPage(tagsUrl, false, tagsOk);
    await timedPage(filteredUrl, false, filteredOk);
    for (let run = 0; run < RUNS; run++) {
      // Interleaved, so load on the shared machine spreads over every row.
      record(results, "tags page (10,000 tags), cold", await timedPage(tagsUrl, true, tagsOk));
      record(results, "tags page, warm", await timedPage(tagsUrl, false, tagsOk));
      record(results, "repositories page (5,000), cold", await timedPage(reposUrl, true, reposOk));
      record(results, "repositories page, warm", await timedPage(reposUrl, false, reposOk));
      record(
        results,
        "repositories filtered (whole catalog), cold",
        await timedPage(filteredUrl, true, filteredOk),
      );
      record(results, "repositories filtered, warm", await timedPage(filteredUrl, false, filteredOk));
    }
    console.log(`\nHTTP, whole page (${RUNS} runs each, Node ${process.version}):`);
    for (const [label, samples] of Object.entries(results)) summary(label, samples);
    if (!flag("--no-browser")) await inBrowser(tagsUrl, reposUrl);
  } finally {
    await proxy.stop();
    await registry.stop();
  }
}

/** Navigation to the load event in chromium, each run in a new context with new credentials (cold). */
async function inBrowser(tagsUrl: string, reposUrl: string): Promise<void> {
  const browser = await launchChromium();
  const results: Record<string, number[]> = {};
  try {
    for (let run = 0; run < RUNS; run++) {
      for (const [label, url] of [
        ["chromium: tags page, cold", tagsUrl],
        ["chromium: repositories page, cold", reposUrl],
      ] as const) {
        // An open registry never challenges: the credentials go with every request.
        const basic = Buffer.from(`browser${counter++}:x`).toString("base64");
        const context = await browser.newContext({ extraHTTPHeaders: { authorization: `Basic ${basic}` } });
        const page = await context.newPage();
        const t0 = performance.now();
        await page.goto(url, { waitUntil: "load" });
        record(results, label, performance.now() - t0);
        await context.close();
      }
    }
  } finally {
    await browser.close();
  }
  console.log(`\nchromium, navigation to load (${RUNS} runs each):`);
  for (const [label, samples] of Object.entries(results)) summary(label, samples);
}

await main();
agent.destroy();
