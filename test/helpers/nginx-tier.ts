/**
 * The nginx tier under test: real nginx started the way a user starts it,
 * `deploy/nginx/run.sh`, on a free loopback port in front of a registry and a proxy.
 * nginx cannot report the port it bound, so the port is picked by binding
 * 127.0.0.1:0 and closing, and a start that loses the port is retried.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { request } from "./http.js";
import { closedPort } from "./net.js";

export const RUN_SH = join(
  resolve(dirname(fileURLToPath(import.meta.url)), "..", ".."),
  "deploy",
  "nginx",
  "run.sh",
);

export interface NginxTier {
  readonly url: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** What run.sh and nginx wrote to stderr so far. */
  stderr(): string;
  /** SIGTERM, then the exit code (or signal) once run.sh is gone. */
  stop(): Promise<number | string | null>;
}

export interface NginxTierOptions {
  registryUrl: string;
  proxyUrl: string;
  strictUploads?: boolean;
}

export function exited(child: ChildProcess): Promise<number | string | null> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve(child.exitCode ?? child.signalCode);
  }
  return new Promise((res) => child.once("exit", (code, signal) => res(code ?? signal)));
}

/** Spawns run.sh with these arguments; stdout (nginx's access log) is discarded. */
export function spawnRunSh(args: string[]): { child: ChildProcess; stderr: () => string } {
  const child = spawn("bash", [RUN_SH, ...args, "--access-log", "off"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let text = "";
  child.stderr!.on("data", (d: Buffer) => {
    text += d.toString();
  });
  return { child, stderr: () => text };
}

async function answers(url: string): Promise<boolean> {
  try {
    await request("GET", `${url}/v2/`);
    return true;
  } catch {
    return false;
  }
}

/** One start on one port: the tier once nginx answers, or null when the port was taken. */
async function tryStart(port: number, options: NginxTierOptions): Promise<NginxTier | null> {
  const url = `http://127.0.0.1:${port}`;
  const { child, stderr } = spawnRunSh([
    "--listen",
    `127.0.0.1:${port}`,
    "--registry",
    options.registryUrl,
    "--proxy",
    options.proxyUrl,
    "--strict-uploads",
    options.strictUploads === false ? "off" : "on",
  ]);
  const done = exited(child);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      if (/Address already in use/.test(stderr())) return null;
      throw new Error(`run.sh exited (${child.exitCode ?? child.signalCode}): ${stderr()}`);
    }
    if (await answers(url)) {
      return {
        url,
        port,
        child,
        stderr,
        async stop() {
          if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
          return done;
        },
      };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill("SIGTERM");
  await done;
  throw new Error(`nginx did not answer within 60 s: ${stderr()}`);
}

export async function startNginxTier(options: NginxTierOptions): Promise<NginxTier> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const tier = await tryStart(await closedPort(), options);
    if (tier) return tier;
  }
  throw new Error("nginx: the port was taken 5 times in a row");
}
