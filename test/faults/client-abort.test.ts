/**
 * A client that goes away aborts its upstream exchange: the proxy must not keep
 * pulling a blob nobody reads, nor keep an upload open upstream. The upstream here
 * is a scripted server that streams without end (a real registry cannot be made to
 * serve an endless blob on demand), so we can watch its side of the connection.
 */
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { startProxy, type TestProxy } from "../helpers/proxy.js";

const DIGEST = `sha256:${"b".repeat(64)}`;

interface Endless {
  url: string;
  closed: Promise<string>;
  stop(): Promise<void>;
}

/** GET streams 64 KiB chunks forever; PUT reads forever. Resolves `closed` when the proxy drops either. */
function startEndlessUpstream(): Promise<Endless> {
  let resolveClosed!: (what: string) => void;
  const closed = new Promise<string>((r) => {
    resolveClosed = r;
  });
  const server = http.createServer((req, res) => {
    res.on("close", () => {
      if (!res.writableFinished) resolveClosed(`${req.method} aborted`);
    });
    if (req.method === "GET") {
      res.writeHead(200, {
        "content-type": "application/octet-stream",
        "docker-distribution-api-version": "registry/2.0",
      });
      const chunk = Buffer.alloc(64 * 1024, 1);
      const timer = setInterval(() => res.write(chunk), 5);
      res.on("close", () => clearInterval(timer));
      return;
    }
    req.resume(); // an upload that never ends
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        closed,
        stop: () =>
          new Promise((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}

describe("client disconnects", () => {
  let proxy: TestProxy;
  let upstream: Endless;
  before(async () => {
    upstream = await startEndlessUpstream();
    proxy = await startProxy(upstream.url);
  });
  after(async () => {
    await proxy?.stop();
    await upstream?.stop();
  });

  it("GET blob: a client that hangs up mid-download aborts the upstream response", async () => {
    await new Promise<void>((resolve, reject) => {
      const req = http.get(`${proxy.url}/v2/a/blobs/${DIGEST}`, (res) => {
        let got = 0;
        res.on("data", (d: Buffer) => {
          got += d.length;
          if (got > 256 * 1024) {
            req.destroy();
            resolve();
          }
        });
      });
      req.on("error", (e) => (req.destroyed ? undefined : reject(e)));
    });
    const what = await Promise.race([
      upstream.closed,
      new Promise<string>((r) => setTimeout(() => r("still streaming after 5 s"), 5000)),
    ]);
    assert.equal(what, "GET aborted");
  });
});

describe("client disconnects during an upload", () => {
  it("PATCH: a client that hangs up mid-upload aborts the upstream request", async () => {
    const upstream = await startEndlessUpstream();
    const proxy = await startProxy(upstream.url);
    try {
      const req = http.request(`${proxy.url}/v2/a/blobs/uploads/u1?_state=x`, {
        method: "PATCH",
        headers: { "content-type": "application/octet-stream" },
      });
      req.on("error", () => {});
      req.write(Buffer.alloc(128 * 1024));
      await new Promise((r) => setTimeout(r, 200));
      req.destroy();
      const what = await Promise.race([
        upstream.closed,
        new Promise<string>((r) => setTimeout(() => r("upload still open after 5 s"), 5000)),
      ]);
      assert.equal(what, "PATCH aborted");
    } finally {
      await proxy.stop();
      await upstream.stop();
    }
  });
});
