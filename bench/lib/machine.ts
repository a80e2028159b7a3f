/** The machine and the versions a run measured, for the report. */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";

export interface Machine {
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
}

export function describeMachine(): Machine {
  const model =
    /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? cpus()[0]?.model;
  return {
    nproc: cpus().length,
    cpuModel: model ?? "unknown",
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    kernel: readFileSync("/proc/sys/kernel/osrelease", "utf8").trim(),
  };
}

/** 1, 5 and 15 minute load averages. */
export function loadAverage(): [number, number, number] {
  const [a, b, c] = readFileSync("/proc/loadavg", "utf8").split(" ").map(Number);
  return [a!, b!, c!];
}

export function registryVersion(binary = "docker-registry"): string {
  const r = spawnSync(binary, ["--version"], { encoding: "utf8" });
  return r.error ? "unknown" : r.stdout.trim().split(" ").pop()!;
}
