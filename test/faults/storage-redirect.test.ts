/**
 * A scripted fake upstream standing in for a registry on object storage (the
 * filesystem driver never redirects): blob reads answer 307 to a presigned
 * storage URL. The redirect must reach the client unchanged and the proxy must
 * not follow it. The same fake records the headers it receives, to check that
 * credentials pass through unchanged on every method and that
 * `Proxy-Authorization` never does.
 */
import assert from "node:assert/strict";
import http, { type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { request } from "../helpers/http.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { type Bystander, startBystander } from "../helpers/upstream-watch.js";

const D = `sha256:${"b".repeat(64)}`;

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

describe("upstream redirects to object storage", () => {
  let storage: Bystander;
  let fake: http.Server;
  let fakeUrl: string;
  let proxy: TestProxy;
  const seen: Seen[] = [];
  let presigned: string;

  before(async () => {
    storage = await startBystander();
    presigned = `${storage.url}/bucket/docker/registry/v2/blobs/sha256/bb/data?X-Amz-Signature=ab%2Fcd&X-Amz-Expires=1200`;
    fake = http.createServer((req, res) => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
      req.resume();
      req.on("end", () => {
        const common = { "docker-distribution-api-version": "registry/2.0" };
        const read = req.method === "GET" || req.method === "HEAD";
        if (read && req.url === `/v2/r/blobs/${D}`) {
          res.writeHead(307, { ...common, location: presigned, "content-length": "0" });
          res.end();
        } else if (req.url === `/v2/r/blobs/${D}?self=1`) {
          res.writeHead(307, { ...common, location: `${fakeUrl}/v2/r/blobs/${D}`, "content-length": "0" });
          res.end();
        } else {
          res.writeHead(200, { ...common, "content-type": "application/json" });
          res.end("{}");
        }
      });
    });
    await new Promise<void>((resolve) => fake.listen(0, "127.0.0.1", resolve));
    fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
    // The catalog passed through (catalog.listEmpty), one of the passthrough calls below.
    proxy = await startProxy(fakeUrl, { catalog: { listEmpty: true } });
  });
  after(async () => {
    await proxy?.stop();
    await new Promise<void>((resolve) => {
      fake?.close(() => resolve());
      fake.closeAllConnections();
    });
    await storage?.stop();
  });

  it("GET and HEAD /v2/:name/blobs/:digest relay a 307 to storage unchanged and never follow it", async () => {
    for (const method of ["GET", "HEAD"]) {
      const res = await request(method, `${proxy.url}/v2/r/blobs/${D}`, {
        headers: { authorization: "Bearer secret.token.value" },
      });
      assert.equal(res.status, 307, method);
      assert.equal(res.headers.location, presigned, "the presigned URL is byte-exact");
      assert.equal(res.headers["docker-distribution-api-version"], "registry/2.0");
    }
    assert.equal(storage.connections(), 0, "the proxy never contacted the storage host");
  });

  it("a redirect naming the upstream itself is rewritten to the proxy (the client never learns the upstream)", async () => {
    const res = await request("GET", `${proxy.url}/v2/r/blobs/${D}?self=1`);
    assert.equal(res.status, 307);
    assert.equal(res.headers.location, `${proxy.url}/v2/r/blobs/${D}`);
  });

  it("Authorization reaches the upstream exactly as sent on every passthrough method; Proxy-Authorization never does", async () => {
    const auths = [
      "Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln",
      `Basic ${Buffer.from("alice:pa ss:wörd").toString("base64")}`,
    ];
    const calls: Array<[string, string]> = [
      ["GET", `/v2/r/manifests/${D}`],
      ["HEAD", "/v2/r/manifests/latest"],
      ["PUT", "/v2/r/manifests/latest"],
      ["POST", "/v2/r/blobs/uploads/"],
      ["PATCH", "/v2/r/blobs/uploads/abc-123?_state=xyz"],
      ["PUT", `/v2/r/blobs/uploads/abc-123?_state=xyz&digest=${D}`],
      ["DELETE", "/v2/r/blobs/uploads/abc-123?_state=xyz"],
      ["DELETE", `/v2/r/blobs/${D}`],
      ["GET", "/v2/_catalog?n=10"],
      ["GET", "/v2/"],
    ];
    for (const auth of auths) {
      for (const [method, path] of calls) {
        const before = seen.length;
        const res = await request(method, `${proxy.url}${path}`, {
          headers: { authorization: auth, "proxy-authorization": "Basic cHJveHk6c2VjcmV0" },
          ...(method === "PUT" || method === "PATCH" ? { body: "{}" } : {}),
        });
        assert.equal(res.status, 200, `${method} ${path}`);
        const got = seen.slice(before);
        // A PUT to a tag: the tag history's HEAD of the tag first, with the same credentials.
        const history = method === "PUT" && path === "/v2/r/manifests/latest";
        assert.deepEqual(
          got.map((g) => `${g.method} ${g.url}`),
          [...(history ? [`HEAD ${path}`] : []), `${method} ${path}`],
          `${method} ${path} reached the upstream once (path and query byte-exact)`,
        );
        for (const g of got) {
          assert.equal(g.headers.authorization, auth, `${g.method} ${path}`);
          assert.equal(g.headers["proxy-authorization"], undefined, `${g.method} ${path}`);
        }
      }
    }
  });
});
