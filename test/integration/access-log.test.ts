/**
 * Access log lines and request ids. The upstream here is a small local HTTP server
 * that echoes the headers it received: what is checked is what the proxy forwards.
 */
import assert from "node:assert/strict";
import http, { type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { createAccessLog, createLogger } from "../../src/ops/logger.js";
import { createMetrics } from "../../src/ops/metrics.js";
import { createRequestTracker, TrackedResponse } from "../../src/ops/request-tracker.js";
import { callerHeaders } from "../../src/upstream/caller-headers.js";
import { request } from "../helpers/http.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("access log and X-Request-Id through the passthrough", () => {
  let upstream: http.Server;
  let seen: IncomingHttpHeaders[];
  let proxy: TestProxy;

  before(async () => {
    seen = [];
    upstream = http.createServer((req, res) => {
      seen.push(req.headers);
      req.resume();
      req.on("end", () => {
        const body = JSON.stringify({ path: req.url });
        res.writeHead(req.url?.includes("missing") ? 404 : 200, {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
        });
        res.end(body);
      });
    });
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", () => r()));
    proxy = await startProxy(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`);
  });
  after(async () => {
    await proxy?.stop();
    await new Promise((r) => upstream.close(r));
  });

  function accessLines(): Record<string, unknown>[] {
    return proxy
      .logs()
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l["msg"] === "request");
  }

  it("GET /v2/<name>/manifests/<tag> with a sane X-Request-Id: forwarded upstream, returned, logged", async () => {
    const res = await request("GET", `${proxy.url}/v2/log/app/manifests/v1`, {
      headers: {
        "x-request-id": "client.id_42-A",
        authorization: "Basic c2VjcmV0OnB3",
        cookie: "s=cookie-value",
      },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers["x-request-id"], "client.id_42-A");
    assert.equal(seen.at(-1)?.["x-request-id"], "client.id_42-A");
    const line = accessLines().find((l) => l["requestId"] === "client.id_42-A");
    assert.ok(line, "access line with the request id");
    assert.equal(line["level"], 30);
    assert.equal(line["method"], "GET");
    assert.equal(line["path"], "/v2/log/app/manifests/v1");
    assert.equal(line["status"], 200);
    assert.equal(line["route"], "manifest");
    assert.equal(line["remote"], "127.0.0.1");
    assert.equal(typeof line["ms"], "number");
    assert.ok((line["bytesIn"] as number) > 0 && (line["bytesOut"] as number) > res.body.length);
    const text = JSON.stringify(line);
    assert.doesNotMatch(text, /c2VjcmV0|cookie-value|authorization/i);
  });

  it("an insane X-Request-Id (too long, bad characters, repeated) is replaced by a UUID, forwarded and returned", async () => {
    for (const bad of ["x".repeat(129), "has space", "semi;colon", ["a", "b"]]) {
      const res = await request("GET", `${proxy.url}/v2/log/app/manifests/missing`, {
        headers: { "x-request-id": bad },
      });
      assert.equal(res.status, 404);
      const id = res.headers["x-request-id"] as string;
      assert.match(id, UUID_RE, `for ${JSON.stringify(bad)}`);
      assert.equal(seen.at(-1)?.["x-request-id"], id);
      assert.equal(accessLines().find((l) => l["requestId"] === id)?.["status"], 404);
    }
  });

  it("without X-Request-Id the proxy generates one, also on its own endpoints", async () => {
    const res = await request("GET", `${proxy.url}/v2/log/app/tags/list`);
    assert.match(res.headers["x-request-id"] as string, UUID_RE);
    assert.equal(seen.at(-1)?.["x-request-id"], res.headers["x-request-id"]);
    const health = await request("GET", `${proxy.url}/healthz`);
    assert.equal(health.status, 200);
    assert.match(health.headers["x-request-id"] as string, UUID_RE);
    // Probes and scrapes log at debug, not info.
    const line = accessLines().find((l) => l["requestId"] === health.headers["x-request-id"]);
    assert.equal(line?.["level"], 20);
    assert.equal(line?.["route"], "ops");
  });

  it("logs the path without its query (upload _state and digests stay out of the log)", async () => {
    const res = await request(
      "PATCH",
      `${proxy.url}/v2/log/app/blobs/uploads/0b7e0a2e-5f4c-4d7e-9a55-4c8f3b2b6d11?_state=SIGNED-STATE-VALUE&digest=sha256:abc`,
      { body: "data", headers: { "x-request-id": "patch-1" } },
    );
    assert.equal(res.status, 200);
    assert.match(seen.at(-1)?.["x-request-id"] as string, /^patch-1$/);
    const line = accessLines().find((l) => l["requestId"] === "patch-1");
    assert.equal(line?.["path"], "/v2/log/app/blobs/uploads/0b7e0a2e-5f4c-4d7e-9a55-4c8f3b2b6d11");
    assert.equal(line?.["route"], "upload");
    assert.doesNotMatch(proxy.logs().join("\n"), /SIGNED-STATE-VALUE/);
  });
});

describe("request id for the proxy's own upstream calls", () => {
  it("callerHeaders() carries the id the tracker put on the incoming request", async () => {
    const tracker = createRequestTracker({
      metrics: createMetrics({ defaultMetrics: false }),
      access: createAccessLog(createLogger("silent")),
    });
    let forwarded: unknown;
    const server = http.createServer({ ServerResponse: TrackedResponse }, (req, res) => {
      tracker.begin(req, res, "/v2/x/tags/_list");
      forwarded = callerHeaders(req, { trustForwarded: false, publicUrl: null })["x-request-id"];
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    try {
      const port = (server.address() as AddressInfo).port;
      const res = await request("GET", `http://127.0.0.1:${port}/v2/x/tags/_list`);
      assert.match(forwarded as string, UUID_RE);
      assert.equal(res.headers["x-request-id"], forwarded);
      await request("GET", `http://127.0.0.1:${port}/`, { headers: { "x-request-id": "mine" } });
      assert.equal(forwarded, "mine");
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
