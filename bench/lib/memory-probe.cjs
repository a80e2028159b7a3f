// Where a process's memory goes, from the inside: loaded with `node --require` by the
// sidecar bench (`--probe`). Every 50 ms it reads process.memoryUsage() and V8's heap
// spaces and keeps the highest of each, and the whole breakdown at the moment the RSS
// was highest; on SIGUSR2 it writes them as JSON to MEMORY_PROBE_FILE. Diagnosis only:
// the sampling costs CPU, so CPU figures of a probed run are not the product's.
const { writeFileSync } = require("node:fs");
const v8 = require("node:v8");

const file = process.env.MEMORY_PROBE_FILE;
const max = {};
let atPeak = null;
let gcs = 0;

function sample() {
  const m = process.memoryUsage();
  const spaces = {};
  for (const s of v8.getHeapSpaceStatistics()) spaces[s.space_name] = s.space_size;
  const row = { ...m, ...spaces, malloced: v8.getHeapStatistics().malloced_memory };
  for (const [k, v] of Object.entries(row)) if (!(max[k] >= v)) max[k] = v;
  if (atPeak === null || m.rss > atPeak.rss) atPeak = row;
}

try {
  const { PerformanceObserver } = require("node:perf_hooks");
  new PerformanceObserver((list) => {
    gcs += list.getEntries().length;
  }).observe({ entryTypes: ["gc"] });
} catch {}

setInterval(sample, 50).unref();
process.on("SIGUSR2", () => {
  sample();
  const mib = (o) =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round((v / 1048576) * 10) / 10]));
  if (file) writeFileSync(file, JSON.stringify({ max: mib(max), atPeak: mib(atPeak), gcs }));
});
