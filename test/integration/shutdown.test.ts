/**
 * Graceful shutdown of the real process: SIGTERM in the middle of a large streamed
 * blob upload through the passthrough. The upload is driven by the shutdown's own
 * log lines (part before SIGTERM, the rest once the listener has closed), so it is
 * in flight across the whole drain however slow the machine is.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import net from "node:net";
import { after, before, describe, it } from "node:test";
import { request } from "../helpers/http.js";
import { type ProxyProcess, spawnProxy } from "../helpers/proxy-process.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";

const CHUNK = 1024 * 1024;
const CHUNKS = 96; // 96 MiB, generated on the fly
const SIGNAL_AFTER = 16;
/** Long enough for the readiness request (on a connection opened before SIGTERM) on a loaded machine. */
const DRAIN_DELAY_MS = 10_000;

/** Chunk i of the blob: a random base with the chunk number stamped in. */
function chunkOf(base: Buffer, i: number): Buffer {
  const c = Buffer.from(base);
  c.writeUInt32BE(i, 0);
  return c;
}

function blobDigest(base: Buffer): string {
  const h = createHash("sha256");
  for (let i = 0; i < CHUNKS; i++) h.update(chunkOf(base, i));
  return `sha256:${h.digest("hex")}`;
}

function connectOutcome(port: number): Promise<"connected" | string> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve("connected");
    });
    s.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? "error"));
  });
}

describe("graceful shutdown (SIGTERM) of the proxy process", () => {
  let registry: TestRegistry;
  let proxy: ProxyProcess;

  before(async () => {
    registry = await startRegistry();
    proxy = await spawnProxy({
      UPSTREAM_URL: registry.url,
      SHUTDOWN_GRACE_MS: "120000",
      SHUTDOWN_DRAIN_DELAY_MS: String(DRAIN_DELAY_MS),
    });
  });
  after(async () => {
    proxy?.kill();
    await registry?.stop();
  });

  it("a PUT blob upload in flight completes with the right digest, readiness fails, new connections are refused, exit 0", async () => {
    const base = randomBytes(CHUNK);
    const digest = blobDigest(base);

    // An idle keep-alive connection, to see it closed by the shutdown.
    const idle = net.connect(proxy.port, "127.0.0.1");
    await new Promise((r) => idle.once("connect", r));
    idle.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    await new Promise((r) => idle.once("data", r));
    const idleClosed = new Promise<void>((r) => idle.once("close", () => r()));
    idle.on("error", () => {});

    const start = await request("POST", `${proxy.url}/v2/shutdown/big/blobs/uploads/`);
    assert.equal(start.status, 202, start.text);
    const location = `${start.headers.location as string}&digest=${digest}`;
    const u = new URL(location);

    // A keep-alive connection opened before the signal, for the readiness check during the drain delay.
    const probe = new http.Agent({ keepAlive: true, maxSockets: 1 });
    assert.equal((await request("GET", `${proxy.url}/healthz`, { agent: probe })).status, 200);

    let listenerClosed!: () => void;
    const resume = new Promise<void>((r) => {
      listenerClosed = r;
    });
    const response = new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>(
      (resolve, reject) => {
        const req = http.request(
          {
            method: "PUT",
            hostname: "127.0.0.1",
            port: u.port,
            path: u.pathname + u.search,
            headers: { "content-type": "application/octet-stream", "transfer-encoding": "chunked" },
            agent: false,
          },
          (res) => {
            let body = "";
            res.on("data", (d: Buffer) => {
              body += d.toString();
            });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
          },
        );
        req.on("error", reject);
        void (async () => {
          for (let i = 0; i < CHUNKS; i++) {
            if (i === SIGNAL_AFTER) {
              proxy.child.kill("SIGTERM");
              await resume; // the rest goes out after the listener closed
            }
            if (!req.write(chunkOf(base, i))) await new Promise((r) => req.once("drain", r));
          }
          req.end();
        })().catch(reject);
      },
    );

    await proxy.waitForLog("shutting down");
    // During the drain delay readiness says 503 (the listener still accepts).
    const ready = await request("GET", `${proxy.url}/readyz`, { agent: probe });
    assert.equal(ready.status, 503, ready.text);
    assert.equal(ready.json<{ draining: boolean }>().draining, true);

    await proxy.waitForLog("listener closed, waiting for requests");
    try {
      assert.equal(await connectOutcome(proxy.port), "ECONNREFUSED");
      await idleClosed;
    } finally {
      listenerClosed();
      probe.destroy();
    }

    const res = await response;
    assert.equal(res.status, 201, res.body);
    assert.equal(res.headers["docker-content-digest"], digest);
    assert.equal(await proxy.exited, 0);

    // The registry holds the whole blob.
    const head = await request("HEAD", `${registry.url}/v2/shutdown/big/blobs/${digest}`);
    assert.equal(head.status, 200);
    assert.equal(Number(head.headers["content-length"]), CHUNK * CHUNKS);
    const stopped = proxy.lines().find((l) => l["msg"] === "stopped");
    assert.equal(stopped?.["cutRequests"], 0);
  });
});
