/**
 * Peak RSS of the proxy under a flood of tags-list requests that each carry a
 * different random `Authorization` header, against an anonymous-read registry
 * (no auth: the registry answers every one of them) with many tags: the
 * tags-list cache must stay bounded whatever an unauthenticated client sends.
 *
 *   npm run build && npx tsx bench/tags-flood.ts [--tags 20000] [--requests 1500]
 *       [--connections 4] [--path tags/list|tags/_list?n=100] [--idle-ms 5000]
 *
 * The tags are made in the registry's storage directly (a tag is a folder under
 * `_manifests/tags/`: that is all 2.8's tags/list reads), so seeding 20,000 takes a
 * second. The proxy runs from dist/ as its own process with its defaults; the peak
 * is the kernel's VmHWM of that process. Prints one JSON line.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchRegistry } from "../src/registry/launch.js";
import { request } from "../test/helpers/http.js";
import { numberOption, option } from "./lib/args.js";
import { readRssMiB } from "./lib/procfs.js";
import { tagName } from "./lib/seed.js";
import { startProxyProcess } from "./proxy-process.js";

const TAGS = numberOption("--tags", 20_000);
const REQUESTS = numberOption("--requests", 1500);
const CONNECTIONS = numberOption("--connections", 4);
const IDLE_MS = numberOption("--idle-ms", 5000);
const PATH = option("--path", "tags/list");
const REPO = "bench/flood";

const storage = existsSync("/dev/shm")
  ? mkdtempSync("/dev/shm/rcp-flood-")
  : mkdtempSync(join(tmpdir(), "rcp-flood-"));
const tagsDir = join(
  storage,
  "storage",
  "docker",
  "registry",
  "v2",
  "repositories",
  REPO,
  "_manifests",
  "tags",
);
mkdirSync(tagsDir, { recursive: true });
for (let i = 0; i < TAGS; i++) mkdirSync(join(tagsDir, tagName(i)), { recursive: true });

const registry = await launchRegistry({ dir: storage });
const proxy = await startProxyProcess(registry.url);
const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
try {
  const direct = await request("GET", `${registry.url}/v2/${REPO}/tags/list`);
  const listed = direct.json<{ tags: string[] }>().tags.length;
  if (listed !== TAGS) throw new Error(`registry lists ${listed} tags, expected ${TAGS}`);
  const startRss = readRssMiB(proxy.child.pid!);
  let next = 0;
  let failures = 0;
  const t0 = Date.now();
  const worker = async () => {
    while (next < REQUESTS) {
      next++;
      const authorization = `Basic ${randomBytes(24).toString("base64")}`;
      const res = await request("GET", `${proxy.url}/v2/${REPO}/${PATH}`, {
        agent,
        headers: { authorization },
      });
      if (res.status !== 200) failures++;
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  const seconds = (Date.now() - t0) / 1000;
  const peak = proxy.peakRssMiB();
  await new Promise((r) => setTimeout(r, IDLE_MS));
  const idle = readRssMiB(proxy.child.pid!);
  console.log(
    JSON.stringify({
      node: process.versions.node,
      tags: TAGS,
      requests: REQUESTS,
      connections: CONNECTIONS,
      path: PATH,
      failures,
      seconds,
      startRssMiB: Math.round(startRss),
      peakRssMiB: Math.round(peak),
      [`rssAfter${IDLE_MS}msMiB`]: Math.round(idle),
    }),
  );
} finally {
  agent.destroy();
  await proxy.stop();
  await registry.stop();
  rmSync(storage, { recursive: true, force: true });
}
