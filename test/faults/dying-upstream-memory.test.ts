/**
 * Memory with a dying upstream, on Node 24 (the image's Node): 200 concurrent pulls
 * of a 64 MiB blob through one proxy process (plain JavaScript as the image runs it,
 * with the NODE_OPTIONS the sidecar manifest gives it, else the image's), every client reading
 * as fast as it can; once every download has begun and all have moved for a second,
 * the upstream dies under them (every connection reset: the scripted upstream, as a
 * registry's host or network failing mid-body; a SIGKILLed registry would first let
 * the kernel's buffers drain, seconds to minutes on a loaded machine). Every client
 * is cut (none hangs, none gets a whole blob), and the proxy's peak RSS (VmHWM) stays
 * under the proxy container's memory limit in deploy/kubernetes/deployment.yaml (read
 * from the file): a fault must not get the sidecar OOM-killed. The two-thirds margin the
 * limit is set with applies to the ordinary load profile (memory-limit.test.ts); under
 * this fault, on a loaded 2-core machine, the peak spread over 137-225 MiB in 20 runs
 * (the same on either side of the registry client refactor), too close to two thirds
 * (213 MiB of the limit then; 203 of today's 304Mi, 220 MiB measured against it on
 * Node 24) to tell a regression from the machine's load. Not a timed test: the
 * deadlines only catch hangs.
 *
 * The proxy runs on Node 24: the Node running the suite when it is 24 or later (CI's
 * second pass), else the binary RCP_TEST_NODE24 names (CI sets it for the first pass);
 * skipped, saying so, when there is none.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import net from "node:net";
import { join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { parseAllDocuments } from "yaml";
import { type BuiltProxy, buildProxyScripts } from "../helpers/built-proxy.js";
import { imageMallocEnv, imageNodeArgs, imageNodeOptions } from "../helpers/image.js";
import { type ProxyProcess, spawnProxy } from "../helpers/proxy-process.js";
import { answer, type RawUpstream, startRawUpstream } from "../helpers/raw-upstream.js";

const ROOT = resolve(import.meta.dirname, "../..");
const CLIENTS = 200;
const SIZE = 64 * 1024 * 1024;
/** Every download has begun (its head and this much body arrived) before the kill. */
const STARTED = 256 * 1024;
/** Then all 200 bodies move at once for this long before the upstream dies. */
const STREAM_MS = 1000;
const MiB = 1024 * 1024;
const DIGEST = `sha256:${"d1e5".repeat(16)}`;

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, read by known paths
type Obj = Record<string, any>;

/** A Node 24 (or later) binary to run the proxy on, or why there is none. */
function node24(): { bin: string } | { skip: string } {
  const major = (v: string) => Number(/^v?(\d+)/.exec(v)?.[1]);
  if (major(process.version) >= 24) return { bin: process.execPath };
  const bin = process.env["RCP_TEST_NODE24"];
  if (!bin)
    return { skip: `the suite runs on Node ${process.version} and RCP_TEST_NODE24 names no Node 24 binary` };
  if (!existsSync(bin)) return { skip: `RCP_TEST_NODE24 (${bin}) does not exist` };
  const version = execFileSync(bin, ["--version"], { encoding: "utf8" }).trim();
  assert.ok(major(version) >= 24, `RCP_TEST_NODE24 (${bin}) is Node ${version}, not 24 or later`);
  return { bin };
}

/** A Kubernetes memory quantity (`256Mi`, `1Gi`, `300M`, `268435456`) in bytes. */
function quantity(q: string): number {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|k|K|M|G)?$/.exec(q.trim());
  assert.ok(m, `a memory quantity: ${q}`);
  const unit = { Ki: 1024, Mi: MiB, Gi: 1024 * MiB, k: 1e3, K: 1e3, M: 1e6, G: 1e9 }[m[2] ?? ""] ?? 1;
  return Number(m[1]) * unit;
}

/** The proxy container of the sidecar manifest: its memory limit and Node flags (NODE_OPTIONS). */
function sidecar(): { limit: number; limitText: string; nodeFlags: string[] } {
  const docs = parseAllDocuments(readFileSync(join(ROOT, "deploy/kubernetes/deployment.yaml"), "utf8"));
  const deployment = docs.map((d) => d.toJS() as Obj).find((o) => o?.["kind"] === "Deployment");
  const containers = (deployment?.["spec"]?.template?.spec?.containers ?? []) as Obj[];
  const proxy = containers.find((c) => c["name"] === "proxy");
  const limitText = proxy?.["resources"]?.limits?.memory;
  assert.ok(limitText !== undefined, "the sidecar manifest limits the proxy container's memory");
  const env = (proxy?.["env"] ?? []) as Obj[];
  const fromManifest = env.find((e) => e["name"] === "NODE_OPTIONS")?.["value"];
  return {
    limit: quantity(String(limitText)),
    limitText: String(limitText),
    // The manifest's NODE_OPTIONS replaces the image's; else the image's, as the container gets it.
    nodeFlags:
      fromManifest === undefined ? imageNodeOptions() : String(fromManifest).split(/\s+/).filter(Boolean),
  };
}

function vm(pid: number, key: "VmHWM" | "VmRSS"): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Resolves once `check` holds (looked at every 10 ms), or fails with `what` after `ms`. */
async function until(check: () => boolean, ms: number, what: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    assert.ok(Date.now() < deadline, what());
    await sleep(10);
  }
}

const target = node24();

describe("memory with a dying upstream (Node 24)", () => {
  let upstream: RawUpstream | undefined;
  let proxy: ProxyProcess | undefined;
  let built: BuiltProxy | undefined;
  const sockets: net.Socket[] = [];
  after(async () => {
    for (const s of sockets) s.destroy();
    proxy?.kill();
    await proxy?.exited;
    await upstream?.stop();
    built?.remove();
  });

  it(`GET blob: ${CLIENTS} concurrent pulls of 64 MiB, the upstream dying mid-body: every client is cut, peak RSS under the sidecar's limit`, {
    skip: "skip" in target ? target.skip : false,
  }, async (t) => {
    if (!("bin" in target)) return;
    const { limit, limitText, nodeFlags } = sidecar();
    // The upstream: a 200 with the blob's length at once; the bodies once all 200 have asked,
    // then as fast as the proxy takes them.
    const chunk = Buffer.alloc(64 * 1024, 0x5a);
    const bodies = new Set<net.Socket>();
    let dead = false;
    const pump = (socket: net.Socket, sent = 0): void => {
      while (!dead && sent < SIZE - chunk.length) {
        sent += chunk.length;
        if (!socket.write(chunk)) return void socket.once("drain", () => pump(socket, sent));
      }
    };
    upstream = await startRawUpstream(({ socket, line }) => {
      if (!line.startsWith(`GET /v2/dying/app/blobs/${DIGEST} `)) return answer(socket);
      socket.write(
        `HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nDocker-Content-Digest: ${DIGEST}\r\nContent-Length: ${SIZE}\r\n\r\n`,
      );
      bodies.add(socket);
      if (bodies.size === CLIENTS) for (const b of bodies) pump(b);
    });
    built = buildProxyScripts();
    // Access lines on, as the manifests log them; the image's allocator settings, as the container gets them.
    proxy = await spawnProxy(
      { ...imageMallocEnv(), UPSTREAM_URL: upstream.url, LOG_LEVEL: "info" },
      60_000,
      [...imageNodeArgs(), ...nodeFlags, built.cli, "serve"],
      target.bin,
    );
    const port = proxy.port;
    const pid = proxy.child.pid!;
    const idle = vm(pid, "VmRSS");
    const version = execFileSync(target.bin, ["--version"], { encoding: "utf8" }).trim();

    const received = new Array<number>(CLIENTS).fill(0);
    let closed = 0;
    for (let i = 0; i < CLIENTS; i++) {
      const s = net.connect(port, "127.0.0.1");
      sockets.push(s);
      s.on("data", (d: Buffer) => {
        received[i]! += d.length;
      });
      s.on("error", () => {});
      s.on("close", () => closed++);
      s.write(`GET /v2/dying/app/blobs/${DIGEST} HTTP/1.1\r\nHost: dying.test\r\n\r\n`);
    }
    const started = Date.now();
    await until(
      () => received.every((r) => r >= STARTED),
      120_000,
      () => `${received.filter((r) => r < STARTED).length} downloads never started`,
    );
    const allStarted = Date.now() - started;
    await sleep(STREAM_MS);
    const beforeDeath = vm(pid, "VmHWM");
    // The upstream dies: every connection reset at once, mid-body.
    dead = true;
    for (const b of bodies) b.resetAndDestroy();
    const diedAt = Date.now();
    await until(
      () => closed === CLIENTS,
      60_000,
      () => `${CLIENTS - closed} clients still open after the upstream died`,
    );
    const cutAfter = Date.now() - diedAt;
    const peak = vm(pid, "VmHWM");
    const mib = (n: number) => (n / MiB).toFixed(1);
    t.diagnostic(
      `Node ${version}, flags "${nodeFlags.join(" ")}": peak RSS ${mib(peak)} MiB (limit ${limitText}, ` +
        `two thirds ${mib((limit * 2) / 3)} MiB; idle ${mib(idle)} MiB, ${mib(beforeDeath)} MiB before the reset), ` +
        `RSS after ${mib(vm(pid, "VmRSS"))} MiB; all ${CLIENTS} started in ${allStarted} ms, ` +
        `cut ${cutAfter} ms after the reset, ${mib(received.reduce((a, b) => a + b, 0))} MiB received in all`,
    );
    assert.ok(
      received.every((r) => r < SIZE),
      "no client got the whole blob",
    );
    assert.ok(
      peak < limit,
      `peak RSS ${mib(peak)} MiB on Node ${version} is above the sidecar's memory limit ${limitText}`,
    );
  });
});
