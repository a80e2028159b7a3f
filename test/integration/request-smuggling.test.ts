/**
 * Request smuggling through the proxy in front of the real registry. Every case
 * goes on its own raw TCP connection. What reached the registry is proved twice:
 * a TCP relay in front of it keeps every byte sent its way, and the registry's
 * own access log shows every request it parsed.
 *
 * Node's parser (llhttp) refuses almost all of these with 400 and closes the
 * connection: nothing of the case reaches the relay. The few it accepts are valid
 * by the spec (a Transfer-Encoding value with leading whitespace, obs-text in
 * Host); for those the registry sees exactly the one outer request (the would-be
 * smuggled request stays body bytes), and a probe on the same connection gets
 * the next answer, so no second answer was queued.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { request } from "../helpers/http.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { RawConns } from "../helpers/raw-conn.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { startTcpRelay, type TcpRelay } from "../helpers/tcp-relay.js";
import { ACCESS_LOG, forwardedDuring } from "../helpers/upstream-watch.js";

const TAIL = "GET /v2/smuggled/manifests/x HTTP/1.1\r\nHost: x\r\n\r\n";
/** The tail as one chunk of a chunked body, then the last chunk. */
const CHUNKED_TAIL = `${TAIL.length.toString(16)}\r\n${TAIL}\r\n0\r\n\r\n`;
const DIGEST = `sha256:${"5".repeat(64)}`;

function post(id: string, headers: string): string {
  return `POST /v2/s/blobs/uploads/?case=${id} HTTP/1.1\r\nHost: x\r\n${headers}\r\n`;
}

function bytes(...parts: Array<string | number[]>): Buffer {
  return Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : Buffer.from(p))));
}

const NBSP = [0xa0];

/** Cases Node's parser must refuse: 400, the connection closed, nothing forwarded. */
function refusedCases(uploadPath: string): Array<[string, Buffer]> {
  return [
    [
      "CL.TE",
      bytes(post("cl-te", "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n"), `0\r\n\r\n${TAIL}`),
    ],
    [
      "TE.CL",
      bytes(post("te-cl", "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n"), `0\r\n\r\n${TAIL}`),
    ],
    [
      "TE chunked, identity",
      bytes(post("te-ci", "Transfer-Encoding: chunked, identity\r\n"), `0\r\n\r\n${TAIL}`),
    ],
    [
      "TE with a leading space, plus Content-Length",
      bytes(post("te-sp", "Transfer-Encoding:  chunked\r\nContent-Length: 4\r\n"), `0\r\n\r\n${TAIL}`),
    ],
    [
      "TE:\\tchunked plus Content-Length",
      bytes(post("te-tab", "Transfer-Encoding:\tchunked\r\nContent-Length: 4\r\n"), `0\r\n\r\n${TAIL}`),
    ],
    ["TE xchunked", bytes(post("te-x", "Transfer-Encoding: xchunked\r\n"), `0\r\n\r\n${TAIL}`)],
    [
      "duplicate TE (chunked, identity)",
      bytes(
        post("te-dup", "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n"),
        `0\r\n\r\n${TAIL}`,
      ),
    ],
    [
      "duplicate TE (chunked twice)",
      bytes(post("te-dup2", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"), CHUNKED_TAIL),
    ],
    [
      "TE name with a space before the colon",
      bytes(post("te-name", "Transfer-Encoding : chunked\r\n"), CHUNKED_TAIL),
    ],
    [
      "duplicate CL (4, 5)",
      bytes(post("cl-dup", "Content-Length: 4\r\nContent-Length: 5\r\n"), `{}{}${TAIL}`),
    ],
    [
      "duplicate CL (4, 4)",
      bytes(post("cl-dup-eq", "Content-Length: 4\r\nContent-Length: 4\r\n"), `{}{}${TAIL}`),
    ],
    ["CL +4", bytes(post("cl-plus", "Content-Length: +4\r\n"), `{}{}${TAIL}`)],
    ["CL -1", bytes(post("cl-minus", "Content-Length: -1\r\n"), `{}{}${TAIL}`)],
    ["CL 4, 5", bytes(post("cl-list", "Content-Length: 4, 5\r\n"), `{}{}${TAIL}`)],
    [
      "obs-fold (SP) hiding TE",
      bytes(
        post("fold-sp", "X-A: b\r\n Transfer-Encoding: chunked\r\nContent-Length: 4\r\n"),
        `0\r\n\r\n${TAIL}`,
      ),
    ],
    [
      "obs-fold (HTAB) hiding TE",
      bytes(post("fold-tab", "X-A: b\r\n\tTransfer-Encoding: chunked\r\n"), CHUNKED_TAIL),
    ],
    ["obs-fold continuing CL", bytes(post("fold-cl", "Content-Length: 4\r\n 5\r\n"), `{}{}${TAIL}`)],
    [
      "bare CR before TE",
      bytes(
        post("bare-cr", "X-A: b\rTransfer-Encoding: chunked\r\nContent-Length: 4\r\n"),
        `0\r\n\r\n${TAIL}`,
      ),
    ],
    ["bare LF before TE", bytes(post("bare-lf", "X-A: b\nTransfer-Encoding: chunked\r\n"), CHUNKED_TAIL)],
    ["VT before the CL value", bytes(post("cl-vt1", "Content-Length: \x0b4\r\n"), `{}{}${TAIL}`)],
    ["VT after the CL value", bytes(post("cl-vt2", "Content-Length: 4\x0b\r\n"), `{}{}${TAIL}`)],
    ["FF before the CL value", bytes(post("cl-ff1", "Content-Length: \x0c4\r\n"), `{}{}${TAIL}`)],
    ["FF after the CL value", bytes(post("cl-ff2", "Content-Length: 4\x0c\r\n"), `{}{}${TAIL}`)],
    ["NBSP before the CL value", bytes(post("cl-nbsp1", "Content-Length: "), NBSP, `4\r\n\r\n{}{}${TAIL}`)],
    ["NBSP after the CL value", bytes(post("cl-nbsp2", "Content-Length: 4"), NBSP, `\r\n\r\n{}{}${TAIL}`)],
    ["VT before the Host value", bytes("GET /v2/?case=host-vt1 HTTP/1.1\r\nHost: \x0bx\r\n\r\n")],
    ["VT after the Host value", bytes("GET /v2/?case=host-vt2 HTTP/1.1\r\nHost: x\x0b\r\n\r\n")],
    ["FF before the Host value", bytes("GET /v2/?case=host-ff1 HTTP/1.1\r\nHost: \x0cx\r\n\r\n")],
    ["FF after the Host value", bytes("GET /v2/?case=host-ff2 HTTP/1.1\r\nHost: x\x0c\r\n\r\n")],
    [
      "the issue's case: PATCH with X-A:\\n, TE chunked, CL 4 and a smuggled GET in the chunk",
      bytes(
        `PATCH ${uploadPath}&case=issue HTTP/1.1\r\nHost: x\r\nX-A:\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n`,
        CHUNKED_TAIL,
      ),
    ],
  ];
}

/** Cases valid by the spec: forwarded as exactly one request; the tail stays body. */
const ACCEPTED: Array<[string, Buffer, string]> = [
  [
    "TE with a leading space (OWS)",
    bytes(post("ows-sp", "Transfer-Encoding:  chunked\r\n"), CHUNKED_TAIL),
    "POST /v2/s/blobs/uploads/?case=ows-sp",
  ],
  [
    "TE:\\tchunked (OWS)",
    bytes(post("ows-tab", "Transfer-Encoding:\tchunked\r\n"), CHUNKED_TAIL),
    "POST /v2/s/blobs/uploads/?case=ows-tab",
  ],
  [
    "NBSP (obs-text) before the Host value",
    bytes("GET /v2/?case=host-nbsp1 HTTP/1.1\r\nHost: ", NBSP, "x\r\n\r\n"),
    "GET /v2/?case=host-nbsp1",
  ],
  [
    "NBSP (obs-text) after the Host value",
    bytes("GET /v2/?case=host-nbsp2 HTTP/1.1\r\nHost: x", NBSP, "\r\n\r\n"),
    "GET /v2/?case=host-nbsp2",
  ],
  // http-proxy-3 gives a DELETE or OPTIONS without Content-Length a
  // `Content-Length: 0`; the proxy sends such a chunked body on chunked.
  [
    "DELETE blob with a chunked body",
    bytes(
      `DELETE /v2/s/blobs/${DIGEST}?case=del HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`,
      CHUNKED_TAIL,
    ),
    `DELETE /v2/s/blobs/${DIGEST}?case=del`,
  ],
  [
    "OPTIONS with a chunked body",
    bytes("OPTIONS /v2/?case=opt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", CHUNKED_TAIL),
    "OPTIONS /v2/?case=opt",
  ],
  [
    "GET with a chunked body",
    bytes("GET /v2/?case=get HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", CHUNKED_TAIL),
    "GET /v2/?case=get",
  ],
];

describe("request smuggling through the proxy (real docker-registry 2.8 behind a byte-keeping relay)", () => {
  let registry: TestRegistry;
  let relay: TcpRelay;
  let proxy: TestProxy;
  let uploadPath: string;
  const conns = new RawConns();

  before(async () => {
    registry = await startRegistry({ extra: ACCESS_LOG });
    relay = await startTcpRelay({ port: registry.port });
    proxy = await startProxy(relay.url);
    const started = await request("POST", `${proxy.url}/v2/s/blobs/uploads/`);
    assert.equal(started.status, 202);
    uploadPath =
      new URL(started.headers.location as string).pathname +
      new URL(started.headers.location as string).search;
  });
  after(async () => {
    conns.destroyAll();
    await proxy.stop();
    await relay.stop();
    await registry.stop();
  });

  it("each refused case: exactly one answer (400), the connection closed, no byte of it at the registry", async () => {
    for (const [name, text] of refusedCases(uploadPath)) {
      const id = /case=([a-z0-9-]+)/.exec(text.toString("latin1"))![1]!;
      const relayedBefore = relay.upstreamBytes().length;
      const seen = await forwardedDuring(registry, proxy.url, async () => {
        const c = await conns.open(proxy.port);
        c.write(text);
        const r = await c.read();
        assert.equal(r.status, 400, name);
        assert.equal(await c.waitEnd(10_000), true, `${name}: the proxy closed the connection`);
        assert.equal(c.unread.length, 0, `${name}: one answer only`);
      });
      assert.deepEqual(seen, [], name);
      const relayed = relay.upstreamBytes().subarray(relayedBefore).toString("latin1");
      assert.ok(
        !relayed.includes(`case=${id}`) && !relayed.includes("smuggled"),
        `${name} reached the relay`,
      );
    }
  });

  it("each accepted case: one answer, the registry parses only the outer request, the next request on the connection is answered next", async () => {
    for (const [name, text, line] of ACCEPTED) {
      const seen = await forwardedDuring(registry, proxy.url, async () => {
        const c = await conns.open(proxy.port);
        c.write(text);
        const r = await c.read(text.toString("latin1").startsWith("HEAD") ? "HEAD" : "GET");
        assert.ok(r.status > 0 && r.status !== 400 && r.status < 500, `${name}: ${r.status} ${r.body}`);
        c.write(`GET /v2/?probe=${encodeURIComponent(name)} HTTP/1.1\r\nHost: x\r\n\r\n`);
        const probe = await c.read();
        assert.equal(probe.status, 200, name);
        assert.equal(probe.body.toString(), "{}", name);
      });
      assert.deepEqual(seen, [line, `GET /v2/?probe=${encodeURIComponent(name)}`], name);
    }
  });

  it("Transfer-Encoding: gzip, chunked (valid for llhttp) goes upstream as it came: the registry refuses the coding, nothing is smuggled", async () => {
    const seen = await forwardedDuring(registry, proxy.url, async () => {
      const c = await conns.open(proxy.port);
      c.write(bytes(post("gzip", "Transfer-Encoding: gzip, chunked\r\n"), CHUNKED_TAIL));
      const r = await c.read();
      assert.equal(r.status, 501, r.body.toString());
      c.write("GET /v2/?probe=gzip HTTP/1.1\r\nHost: x\r\n\r\n");
      assert.equal((await c.read()).status, 200);
    });
    assert.deepEqual(seen, ["GET /v2/?probe=gzip"]);
  });
});
