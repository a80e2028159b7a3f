/**
 * The route parser's cost per request (src/oci/routes.ts parseTarget: the
 * canonical path, the route and, for uploads, the query), on the targets a
 * registry sees most, and on percent-encoded ones (decoded, then re-encoded for
 * the upstream). It runs on every request, so it must stay a small part of the
 * proxy's 150–400 µs of CPU per forwarded request.
 *
 *   npx tsx bench/route-parse.ts [--rounds 7] [--calls 400000]
 *
 * Prints one JSON line: the median CPU time (user + system) per call of each set
 * over the rounds, in ns (the first two rounds warm up and are dropped); CPU time,
 * so that other jobs on the machine change it little.
 */

import { parseTarget } from "../src/oci/routes.js";
import { numberOption } from "./lib/args.js";

const ROUNDS = numberOption("--rounds", 7);
const CALLS = numberOption("--calls", 400_000);
const D = `sha256:${"a".repeat(64)}`;

const SETS: Record<string, Array<[string, string]>> = {
  plain: [
    ["GET", "/v2/library/alpine/manifests/3.19"],
    ["GET", `/v2/library/alpine/blobs/${D}`],
    [
      "PATCH",
      `/v2/team/app/blobs/uploads/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0?_state=${"x".repeat(240)}%3D%3D`,
    ],
    ["GET", "/v2/team/app/tags/_list?n=100&last=v1.2.3"],
    ["GET", "/v2/"],
  ],
  "closing PUT": [["PUT", `/v2/team/app/blobs/uploads/0f1e2d3c?_state=${"x".repeat(240)}%3D%3D&digest=${D}`]],
  encoded: [
    ["PUT", "/%762/library/alpine/%6danifests/3.19"],
    ["DELETE", `/v2/library/alpine/manifests/sha256%3A${"a".repeat(64)}`],
  ],
};

function run(targets: Array<[string, string]>): number {
  let sink = 0;
  const t0 = process.cpuUsage();
  for (let i = 0; i < CALLS; i++) {
    const [method, url] = targets[i % targets.length]!;
    sink += parseTarget(method, url).route.kind.length;
  }
  const used = process.cpuUsage(t0);
  const ns = ((used.user + used.system) * 1000) / CALLS;
  if (sink === 0) throw new Error("unreachable");
  return ns;
}

const samples: Record<string, number[]> = {};
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, targets] of Object.entries(SETS)) {
    const ns = run(targets);
    if (round < 2) continue;
    samples[name] ??= [];
    samples[name].push(ns);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(
  JSON.stringify({
    node: process.versions.node,
    nsPerCall: Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, Math.round(median(v))])),
  }),
);
