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
  /** Resolves once upload bytes reached the upstream. */
  uploading: Promise<void>;
  stop(): Promise<void>;
}

/** GET streams 64 KiB chunks forever; PUT reads forever. Resolves `closed` when the proxy drops either. */
function startEndlessUpstream(): Promise<Endless> {
  let resolveClosed!: (what: string) => void;
  const closed = new Promise<string>((r) => {
    resolveClosed = r;
  });
  let resolveUploading!: () => void;
  const uploading = new Promise<void>((r) => {
    resolveUploading = r;
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
    req.on("data", () => resolveUploading());
    req.resume(); // an upload that never ends
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        closed,
        uploading,
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
    // A proxy that kept pulling would never get here (the test runner's timeout catches it).
    assert.equal(await upstream.closed, "GET aborted");
  });
});

describe("client disconnects during an upload", () => {
  it("PATCH: a client that hangs up mid-upload aborts the upstream request", async () => {
    const upstream = await startEndlessUpstream();
    let proxy: TestProxy | undefined;
    try {
      proxy = await startProxy(upstream.url);
      const req = http.request(`${proxy.url}/v2/a/blobs/uploads/u1?_state=x`, {
        method: "PATCH",
        headers: { "content-type": "application/octet-stream" },
      });
      req.on("error", () => {});
      req.write(Buffer.alloc(128 * 1024));
      await upstream.uploading;
      req.destroy();
      assert.equal(await upstream.closed, "PATCH aborted");
    } finally {
      await proxy?.stop();
      await upstream.stop();
    }
  });
});
