/**
 * A graceful shutdown never cuts the tail of a download to a client that reads
 * slowly: once the upstream has sent everything, the last bytes can still sit in
 * the proxy's buffers (the response is ended, not yet flushed); such a connection
 * is busy, not idle, until they have left.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { blobOf, pushBlob, sha256 } from "../helpers/oci.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { RawConn } from "../helpers/raw-conn.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";

const REPO = "shutdown/slow-reader";

describe("shutdown while a client reads slowly (real docker-registry 2.8)", () => {
  let registry: TestRegistry;
  const sizes = [4, 24].map((mib) => blobOf(randomBytes(mib * 1024 * 1024)));
  const proxies: TestProxy[] = [];
  const conns: RawConn[] = [];

  before(async () => {
    registry = await startRegistry();
    for (const b of sizes) await pushBlob(registry.url, REPO, b);
  });
  after(async () => {
    for (const c of conns) c.destroy();
    for (const p of proxies) await p.stop();
    await registry?.stop();
  });

  for (const blob of sizes) {
    it(`a ${blob.size / 1024 / 1024} MiB download paused by its client while the shutdown sweeps arrives whole`, async () => {
      const proxy = await startProxy(registry.url);
      proxies.push(proxy);
      const c = await RawConn.open(proxy.port);
      conns.push(c);
      c.write(`GET /v2/${REPO}/blobs/${blob.digest} HTTP/1.1\r\nHost: slow.test\r\n\r\n`);
      while (c.unread.indexOf("\r\n\r\n") === -1) await sleep(5);
      c.socket.pause();
      // Let every buffer on the way fill: what fits is sent, the response may end.
      await sleep(500);
      const stopping = proxy.proxy.shutdown({ graceMs: 600_000 });
      // Several idle sweeps pass while the client still reads nothing.
      await sleep(1000);
      c.socket.resume();
      const r = await c.read("GET", 300_000);
      assert.equal(r.status, 200);
      assert.equal(r.body.length, blob.size);
      assert.equal(sha256(r.body), blob.digest);
      assert.deepEqual(await stopping, { cutRequests: 0 });
    });
  }
});
