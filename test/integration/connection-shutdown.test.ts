/**
 * Graceful shutdown with client connections on Node's server in front of a real
 * registry (ported from the former lane's tests): an idle keep-alive connection
 * closes at once, a download in flight finishes within the grace and then the
 * connection ends, and a stalled download still running when the grace ends is
 * cut and counted.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { blobOf, pushBlob, sha256 } from "../helpers/oci.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { RawConn } from "../helpers/raw-conn.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";

const REPO = "shutdown/conn";

function get(path: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: shutdown.test\r\n\r\n`;
}

describe("shutdown with open client connections (real docker-registry 2.8)", () => {
  let registry: TestRegistry;
  const blob = blobOf(randomBytes(24 * 1024 * 1024));
  const proxies: TestProxy[] = [];
  const conns: RawConn[] = [];

  before(async () => {
    registry = await startRegistry();
    await pushBlob(registry.url, REPO, blob);
  });
  after(async () => {
    for (const c of conns) c.destroy();
    for (const p of proxies) await p.stop();
    await registry.stop();
  });

  async function setup(): Promise<{ proxy: TestProxy; c: RawConn }> {
    const proxy = await startProxy(registry.url);
    proxies.push(proxy);
    const c = await RawConn.open(proxy.port);
    conns.push(c);
    return { proxy, c };
  }

  it("an idle keep-alive connection is closed as soon as the shutdown starts", async () => {
    const { proxy, c } = await setup();
    c.write(get("/v2/"));
    const r = await c.read();
    assert.equal(r.status, 200);
    assert.equal(r.headers.connection, "keep-alive");

    // A grace far beyond the deadline: the close is the shutdown's, not the grace's end.
    const stopping = proxy.proxy.shutdown({ graceMs: 600_000 });
    assert.equal(await c.waitEnd(60_000), true, "the idle connection was closed");
    assert.deepEqual(await stopping, { cutRequests: 0 });
  });

  it("a GET blob download in flight completes within the grace, then the connection ends", async () => {
    const { proxy, c } = await setup();
    c.write(get(`/v2/${REPO}/blobs/${blob.digest}`));
    // Read the head, then stop reading: the transfer stalls on backpressure.
    while (c.unread.indexOf("\r\n\r\n") === -1) await sleep(5);
    c.socket.pause();
    await sleep(100);

    let settled = false;
    // The grace only has to outlast a loaded machine: the download is held by the
    // client, not by time, and what is checked is that the shutdown waits for it.
    const stopping = proxy.proxy.shutdown({ graceMs: 600_000 }).finally(() => {
      settled = true;
    });
    await sleep(300);
    assert.equal(settled, false, "the shutdown waits for the download");
    c.socket.resume();
    const r = await c.read("GET", 300_000);
    assert.equal(r.status, 200);
    assert.equal(r.body.length, blob.size);
    assert.equal(sha256(r.body), blob.digest);
    assert.equal(await c.waitEnd(60_000), true, "the connection ends after the response");
    assert.deepEqual(await stopping, { cutRequests: 0 });
  });

  it("a stalled download still running when the grace ends is cut and counted", async () => {
    const { proxy, c } = await setup();
    c.write(get(`/v2/${REPO}/blobs/${blob.digest}`));
    while (c.unread.indexOf("\r\n\r\n") === -1) await sleep(5);
    c.socket.pause();
    const result = await proxy.proxy.shutdown({ graceMs: 500 });
    assert.deepEqual(result, { cutRequests: 1 });
    c.socket.resume();
    await assert.rejects(c.read("GET", 10_000), /connection (ended|failed)/);
    await c.whenClosed;
  });
});
