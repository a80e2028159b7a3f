/**
 * Where the time goes in a `--cpu-prof` profile: self time per function (top N)
 * and per origin (node internals, each dependency, our own code, GC, idle).
 *
 *   npx tsx bench/cpu-profile-summary.ts FILE.cpuprofile [--top 40]
 *
 * Self time says where the CPU is spent (mostly in Node: system calls, the
 * parsers); the inclusive view says who asked for it: the time under each of the
 * proxy's own functions and under each package (callees included).
 *
 * Profiles come from `npm run bench -- --cpu-prof DIR` (the proxy process is run
 * with `--cpu-prof --cpu-prof-dir DIR` and writes the file when it exits).
 */
import { readFileSync } from "node:fs";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const file = process.argv[2];
if (!file) throw new Error("usage: cpu-profile-summary.ts FILE.cpuprofile [--top N]");
const topIndex = process.argv.indexOf("--top");
const top = topIndex === -1 ? 40 : Number(process.argv[topIndex + 1]);
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => {
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});

/** The package or area a frame belongs to. */
export function originOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (functionName === "(garbage collector)") return "(gc)";
  if (functionName === "(idle)") return "(idle)";
  if (functionName === "(program)") return "(program: native, not attributed)";
  if (url.startsWith("node:")) return `node:${url.slice(5).split("/")[0]}`;
  const nm = url.lastIndexOf("/node_modules/");
  if (nm !== -1) {
    const rest = url.slice(nm + 14).split("/");
    return rest[0]!.startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const dist = url.indexOf("/dist/");
  if (dist !== -1) return `proxy: ${url.slice(dist + 6)}`;
  return url === "" ? "(native)" : url;
}

const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
const idle = [...selfUs.entries()]
  .filter(([id]) => byId.get(id)?.callFrame.functionName === "(idle)")
  .reduce((a, [, us]) => a + us, 0);
const busy = total - idle;
const pct = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;

const fnSelf = new Map<string, number>();
const originSelf = new Map<string, number>();
for (const [id, us] of selfUs) {
  const f = byId.get(id)!.callFrame;
  if (f.functionName === "(idle)") continue;
  const key = `${f.functionName || "(anonymous)"}  ${originOf(f)}:${f.lineNumber + 1}`;
  fnSelf.set(key, (fnSelf.get(key) ?? 0) + us);
  const o = originOf(f);
  originSelf.set(o, (originSelf.get(o) ?? 0) + us);
}

console.log(
  `profile: ${(total / 1e6).toFixed(2)} s sampled, busy ${(busy / 1e6).toFixed(2)} s (idle ${(idle / 1e6).toFixed(2)} s)`,
);
console.log("\nself time by origin (share of busy time):");
for (const [o, us] of [...originSelf].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
  console.log(`  ${pct(us)}  ${(us / 1000).toFixed(0).padStart(7)} ms  ${o}`);
}
console.log(`\ntop ${top} functions by self time:`);
for (const [k, us] of [...fnSelf].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`  ${pct(us)}  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
}

/** Inclusive time: every sample counts once for each distinct function and package on its stack. */
const parentOf = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
const fnTotal = new Map<string, number>();
const originTotal = new Map<string, number>();
for (const [id, us] of selfUs) {
  if (byId.get(id)?.callFrame.functionName === "(idle)") continue;
  const fns = new Set<string>();
  const origins = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parentOf.get(cur)) {
    const f = byId.get(cur)!.callFrame;
    const o = originOf(f);
    origins.add(o);
    if (o.startsWith("proxy: ")) fns.add(`${f.functionName || "(anonymous)"}  ${o}:${f.lineNumber + 1}`);
  }
  for (const k of fns) fnTotal.set(k, (fnTotal.get(k) ?? 0) + us);
  for (const o of origins) originTotal.set(o, (originTotal.get(o) ?? 0) + us);
}
console.log("\ninclusive time by package (callees included):");
for (const [o, us] of [...originTotal]
  .filter(([o]) => !o.startsWith("node:") && !o.startsWith("("))
  .sort((a, b) => b[1] - a[1])
  .slice(0, 15)) {
  console.log(`  ${pct(us)}  ${(us / 1000).toFixed(0).padStart(7)} ms  ${o}`);
}
console.log(`\ntop ${top} of the proxy's own functions by inclusive time:`);
for (const [k, us] of [...fnTotal].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`  ${pct(us)}  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
}
