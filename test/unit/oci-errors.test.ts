import assert from "node:assert/strict";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { ociErrorResponse, writeOciError } from "../../src/http/write-error.js";
import { ERROR_CODES, OciError, type OciErrorCode, renderOciError } from "../../src/oci/errors.js";
import { request } from "../helpers/http.js";

const JSON_TYPE = "application/json; charset=utf-8";

function headersFor(body: string, own: Record<string, string> = {}): Record<string, string> {
  return {
    "content-type": JSON_TYPE,
    "content-length": String(Buffer.byteLength(body)),
    "docker-distribution-api-version": "registry/2.0",
    ...own,
  };
}

describe("renderOciError", () => {
  for (const [code, info] of Object.entries(ERROR_CODES) as Array<
    [OciErrorCode, (typeof ERROR_CODES)[OciErrorCode]]
  >) {
    it(`${code} renders ${info.status} with the envelope, JSON, its length and the API version`, () => {
      const body = JSON.stringify({ errors: [{ code, message: info.message }] });
      assert.deepEqual(renderOciError(new OciError(code)), {
        status: info.status,
        headers: headersFor(body),
        body,
      });
    });
  }

  const cases: Array<{
    name: string;
    err: OciError;
    status: number;
    own: Record<string, string>;
    body: string;
  }> = [
    {
      name: "405 METHOD_UNKNOWN carries Allow",
      err: new OciError(
        "METHOD_UNKNOWN",
        "method POST is not allowed on the tags list",
        { method: "POST" },
        {
          status: 405,
          headers: { allow: "GET, HEAD" },
        },
      ),
      status: 405,
      own: { allow: "GET, HEAD" },
      body: '{"errors":[{"code":"METHOD_UNKNOWN","message":"method POST is not allowed on the tags list","detail":{"method":"POST"}}]}',
    },
    {
      name: "401 UNAUTHORIZED carries WWW-Authenticate",
      err: new OciError(
        "UNAUTHORIZED",
        undefined,
        { name: "a/b" },
        {
          headers: {
            "www-authenticate": 'Bearer realm="r",service="s",scope="repository:a/b:pull,push,delete"',
          },
        },
      ),
      status: 401,
      own: { "www-authenticate": 'Bearer realm="r",service="s",scope="repository:a/b:pull,push,delete"' },
      body: '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":{"name":"a/b"}}]}',
    },
    {
      name: "429 TOOMANYREQUESTS carries Retry-After",
      err: new OciError("TOOMANYREQUESTS", undefined, undefined, { headers: { "retry-after": "30" } }),
      status: 429,
      own: { "retry-after": "30" },
      body: '{"errors":[{"code":"TOOMANYREQUESTS","message":"too many requests"}]}',
    },
    {
      name: "UNAVAILABLE with a status of its own (504) and a detail",
      err: new OciError("UNAVAILABLE", "upstream registry timed out", { reason: "timeout" }, { status: 504 }),
      status: 504,
      own: {},
      body: '{"errors":[{"code":"UNAVAILABLE","message":"upstream registry timed out","detail":{"reason":"timeout"}}]}',
    },
    {
      name: "a multi-byte message counts bytes, not characters",
      err: new OciError("NAME_INVALID", "invalid repository name “é”"),
      status: 400,
      own: {},
      body: '{"errors":[{"code":"NAME_INVALID","message":"invalid repository name “é”"}]}',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(renderOciError(c.err), {
        status: c.status,
        headers: headersFor(c.body, c.own),
        body: c.body,
      });
    });
  }

  it("HEAD: the GET's status and headers (its content-length included), no body", () => {
    for (const c of cases) {
      assert.deepEqual(renderOciError(c.err, true), {
        status: c.status,
        headers: headersFor(c.body, c.own),
        body: "",
      });
    }
  });
});

describe("the adapters write what renderOciError renders", () => {
  const err = new OciError("METHOD_UNKNOWN", "no", undefined, { headers: { allow: "DELETE" } });
  const body = '{"errors":[{"code":"METHOD_UNKNOWN","message":"no"}]}';

  it("ociErrorResponse (Hono): status, headers and body; HEAD without a body", async () => {
    const res = ociErrorResponse(err);
    assert.equal(res.status, 405);
    assert.deepEqual(Object.fromEntries(res.headers), headersFor(body, { allow: "DELETE" }));
    assert.equal(await res.text(), body);
    const head = ociErrorResponse(err, true);
    assert.equal(head.status, 405);
    assert.equal(head.body, null);
    assert.equal(head.headers.get("content-length"), String(body.length));
  });

  describe("writeOciError (a Node response)", () => {
    let server: http.Server;
    let url = "";
    before(async () => {
      server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
        if (req.url === "/late") {
          res.writeHead(200, { "content-length": "10" });
          res.write("part");
        }
        writeOciError(res, "METHOD_UNKNOWN", "no", undefined, {
          headers: { allow: "DELETE" },
          head: req.method === "HEAD",
        });
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it("GET: status, headers and body", async () => {
      const res = await request("GET", `${url}/x`);
      assert.equal(res.status, 405);
      for (const [name, value] of Object.entries(headersFor(body, { allow: "DELETE" }))) {
        assert.equal(res.headers[name], value, name);
      }
      assert.equal(res.text, body);
    });

    it("HEAD: the same head, no body", async () => {
      const res = await request("HEAD", `${url}/x`);
      assert.equal(res.status, 405);
      assert.equal(res.headers["content-length"], String(body.length));
      assert.equal(res.body.length, 0);
    });

    it("after a head was sent: the connection is cut instead", async () => {
      await assert.rejects(request("GET", `${url}/late`));
    });
  });
});
