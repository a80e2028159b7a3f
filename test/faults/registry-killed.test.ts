/**
 * The real registry process killed (SIGKILL) in the middle of an exchange: the
 * client is cut or answered at once, never left waiting. Both timeouts that could
 * otherwise end the wait (upstream.idleTimeoutMs, proxy.clientIdleTimeoutMs) are
 * 120 s, and the deadlines here only catch hangs: a pass proves no timeout was
 * involved. The measured delay from the kill to the client seeing the end is
 * reported as a test diagnostic.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import net from "node:net";
import { performance } from "node:perf_hooks";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "../helpers/http.js";
import { blobOf, pushBlob } from "../helpers/oci.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { type RawConn, RawConns } from "../helpers/raw-conn.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";

const LONG = 120_000;
const HANG_MS = 60_000;
const REPO = "killed/app";

async function killRegistry(registry: TestRegistry): Promise<number> {
  const exited = once(registry.process, "exit");
  registry.process.kill("SIGKILL");
  const at = performance.now();
  await exited;
  return at;
}

async function within<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hung: ${what}`)), HANG_MS);
  });
  try {
    return await Promise.race([p, hang]);
  } finally {
    clearTimeout(timer);
  }
}

describe("the registry process killed mid-exchange", () => {
  const registries: TestRegistry[] = [];
  const proxies: TestProxy[] = [];
  const conns = new RawConns();
  const sockets: net.Socket[] = [];

  async function setup(): Promise<{ registry: TestRegistry; proxy: TestProxy }> {
    const registry = await startRegistry();
    registries.push(registry);
    const proxy = await startProxy(registry.url, {
      upstream: { idleTimeoutMs: LONG },
      proxy: { clientIdleTimeoutMs: LONG },
    });
    proxies.push(proxy);
    return { registry, proxy };
  }
  after(async () => {
    conns.destroyAll();
    for (const s of sockets) s.destroy();
    for (const p of proxies) await p.stop();
    for (const r of registries) await r.stop();
  });

  it("GET of a 256 MiB blob: the registry is killed mid-stream → the client connection is cut at once, short of the blob", async (t) => {
    const { registry, proxy } = await setup();
    const size = 256 * 1024 * 1024;
    const bytes = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4096) bytes.writeUInt32BE(i, i);
    const blob = blobOf(bytes);
    await pushBlob(registry.url, REPO, blob);

    // A bare socket that only counts (RawConn keeps every byte; 256 MiB is too much).
    const socket = net.connect(proxy.port, "127.0.0.1");
    sockets.push(socket);
    await once(socket, "connect");
    let head = "";
    let received = 0;
    let lastByteAt = 0;
    socket.on("data", (d: Buffer) => {
      if (head.length < 300) head += d.toString("latin1", 0, Math.min(d.length, 300));
      received += d.length;
      lastByteAt = performance.now();
    });
    socket.on("error", () => {});
    const closed = once(socket, "close");
    socket.write(`GET /v2/${REPO}/blobs/${blob.digest} HTTP/1.1\r\nHost: killed.test\r\n\r\n`);
    const deadline = Date.now() + HANG_MS;
    while (received < 4 * 1024 * 1024) {
      assert.ok(Date.now() < deadline && !socket.destroyed, "the download did not start");
      await sleep(5);
    }
    // Stop reading: the registry is now blocked mid-stream on backpressure.
    socket.pause();
    const killedAt = await killRegistry(registry);
    socket.resume();
    await within(closed, "the client connection after the kill");
    const delay = performance.now() - killedAt;
    // The bytes already in flight (socket buffers on loopback) arrive first: TCP
    // delivers them before the end, so the cut follows the last of them.
    t.diagnostic(
      `client cut ${delay.toFixed(1)} ms after SIGKILL, ${(performance.now() - lastByteAt).toFixed(1)} ms after its last byte (received ${received} of ${size} bytes)`,
    );
    assert.ok(received < size, "the client got less than the blob");
    assert.match(head, /^HTTP\/1\.1 200 OK\r\n[\s\S]*content-length: 268435456\r\n/i);
  });

  it("PATCH upload streaming when the registry is killed → an error answer (502/503, Connection: close) or a cut, at once", async (t) => {
    const { registry, proxy } = await setup();
    const started = await request("POST", `${proxy.url}/v2/${REPO}/blobs/uploads/`);
    assert.equal(started.status, 202);
    const location = new URL(started.headers.location as string);
    const c: RawConn = await conns.open(proxy.port);
    c.write(
      `PATCH ${location.pathname}${location.search} HTTP/1.1\r\nHost: killed.test\r\n` +
        `Content-Type: application/octet-stream\r\nContent-Length: ${1024 ** 3}\r\n\r\n`,
    );
    const chunk = Buffer.alloc(1024 * 1024, 9);
    for (let i = 0; i < 8; i++) c.write(chunk); // 8 MiB of 1 GiB; the rest never comes
    await sleep(200); // let the bytes travel; the kill may land anywhere in the body
    const killedAt = await killRegistry(registry);
    let outcome: string;
    try {
      const r = await within(c.read(), "an answer after the kill");
      assert.ok([502, 503].includes(r.status), `status ${r.status}: ${r.body}`);
      assert.equal(r.headers.connection, "close");
      outcome = `${r.status}`;
      await within(c.whenClosed, "the connection to close after the answer");
    } catch (err) {
      if (!/connection (ended|failed)/.test(String(err))) throw err;
      outcome = "cut";
    }
    t.diagnostic(`upload ended (${outcome}) ${(performance.now() - killedAt).toFixed(1)} ms after SIGKILL`);
  });
});
