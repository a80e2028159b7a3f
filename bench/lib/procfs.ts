/**
 * What /proc says about a process: CPU seconds used (user + system, all threads)
 * and resident memory, with the peak ("high water mark") resettable so that a
 * phase's own peak can be read (`clear_refs` 5, Linux 4.0+, same user or root).
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";

/** Clock ticks per second (`getconf CLK_TCK`; 100 on every Linux build we run on). */
const CLK_TCK = 100;

function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name may contain spaces and parentheses: fields start after the last ")".
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

export function readCpuSeconds(pid: number): number {
  const f = statFields(pid);
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

function statusKiB(pid: number, key: "VmHWM" | "VmRSS"): number {
  const m = new RegExp(`${key}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : Number.NaN;
}

/** Peak resident set size in MiB since start or since the last resetPeakRss. */
export function readPeakRssMiB(pid: number): number {
  return statusKiB(pid, "VmHWM") / 1024;
}

export function readRssMiB(pid: number): number {
  return statusKiB(pid, "VmRSS") / 1024;
}

/** Resets the peak RSS to the current RSS; false when the kernel or permissions refuse. */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/** Direct children of a process (scans /proc; no CONFIG_PROC_CHILDREN needed). */
export function childPids(parent: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (Number(statFields(Number(entry))[1]) === parent) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** A group of processes measured together (the proxy alone; nginx's workers). */
export interface ProcessMeter {
  readonly pids: () => number[];
  cpuSeconds(): number;
  peakRssMiB(): number;
  resetPeak(): void;
}

export function meterOf(pids: () => number[]): ProcessMeter {
  return {
    pids,
    cpuSeconds: () => pids().reduce((s, p) => s + readCpuSeconds(p), 0),
    peakRssMiB: () => pids().reduce((s, p) => s + readPeakRssMiB(p), 0),
    resetPeak: () => {
      for (const p of pids()) resetPeakRss(p);
    },
  };
}

/** `/proc/<pid>/smaps_rollup` in MiB (Rss, Anonymous, Shared_Clean, ...): where the resident pages are. */
export function readSmapsRollup(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of readFileSync(`/proc/${pid}/smaps_rollup`, "utf8").matchAll(/^(\w+):\s+(\d+) kB$/gm))
    out[m[1]!] = Math.round((Number(m[2]) / 1024) * 10) / 10;
  return out;
}
