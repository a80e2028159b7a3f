/**
 * The proxy's registry client (src/registry-client/, on undici)
 * against faults a real registry will not produce on demand, scripted on raw TCP
 * (test/helpers/raw-upstream.ts): the connection limit, refused connections,
 * silence, aborts, bodies over the cap, cut bodies, and stale keep-alive sockets
 * (GET and HEAD sent once more on a new connection; PUT and DELETE never sent
 * twice). Each test has its own scripted upstream.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadConfig } from "../../src/config.js";
import { createRegistryClient, type RegistryCalls } from "../../src/registry-client/client.js";
import { PLAIN } from "../../src/registry-client/credentials.js";
import { UpstreamError } from "../../src/registry-client/http.js";
import { createUpstreamTarget, registryClientOptions } from "../../src/upstream/target.js";
import { request } from "../helpers/http.js";
import { closedPort } from "../helpers/net.js";
import { startProxy } from "../helpers/proxy.js";
import { answer, type RawScript, type RawUpstream, startRawUpstream } from "../helpers/raw-upstream.js";

/** The proxy's registry client for `url`, as the proxy builds it, making plain calls. */
function clientFor(
  url: string,
  upstream: Record<string, unknown> = {},
): RegistryCalls & { close(): Promise<void> } {
  const config = loadConfig({ env: {}, overrides: { upstream: { url, ...upstream } } });
  const client = createRegistryClient(registryClientOptions(createUpstreamTarget(config, url)));
  return { ...client.as(PLAIN), close: () => client.close() };
}

/** A scripted upstream and a client for it, both closed after `fn`. */
async function withUpstream(
  script: RawScript,
  fn: (up: RawUpstream, client: RegistryCalls) => Promise<void>,
  upstream: Record<string, unknown> = {},
): Promise<void> {
  const up = await startRawUpstream(script);
  const client = clientFor(up.url, upstream);
  try {
    await fn(up, client);
  } finally {
    await client.close();
    await up.stop();
  }
}

async function rejection(p: Promise<unknown>): Promise<UpstreamError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof UpstreamError, `expected an UpstreamError, got ${String(e)}`);
    return e;
  }
  assert.fail("the call should have failed");
}

/** Waits for a condition with a deadline that only catches hangs. */
async function until(what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * One turn of the event loop: undici puts a socket back in the pool just after
 * the answer's body ended, so a call made at once after another one finds it
 * still taken and opens a second connection. Tests about reusing one
 * connection let it settle first.
 */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

const GET = { method: "GET", path: "/v2/a/tags/list" };

describe("upstream client: connections", () => {
  it("20 concurrent slow calls with maxSockets 4 open 4 connections, never more", async () => {
    let open = 0;
    let most = 0;
    await withUpstream(
      ({ socket }) => {
        // Slow: each answer waits 20 ms, long enough for a pool without a limit to open more.
        setTimeout(() => answer(socket), 20);
      },
      async (up, client) => {
        const calls = Array.from({ length: 20 }, () => client.request(GET));
        const watch = setInterval(() => {
          open = up.connections() - up.closedConnections();
          most = Math.max(most, open);
        }, 1);
        try {
          const answers = await Promise.all(calls);
          assert.ok(answers.every((r) => r.status === 200));
        } finally {
          clearInterval(watch);
        }
        assert.equal(up.seen.length, 20);
        assert.equal(up.connections(), 4, "all four connections used, and no fifth");
        assert.ok(most <= 4, `${most} connections open at once`);
        const perConnection = [0, 1, 2, 3].map((c) => up.seen.filter((x) => x.conn === c).length);
        assert.equal(
          perConnection.reduce((a, b) => a + b),
          20,
        );
      },
      { maxSockets: 4 },
    );
  });

  it("sequential GETs and HEADs reuse one kept-alive connection", async () => {
    await withUpstream(
      ({ socket, line }) => {
        if (line.startsWith("HEAD ")) socket.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n");
        else answer(socket, '{"ok":true}');
      },
      async (up, client) => {
        for (let i = 0; i < 3; i++) {
          await client.request(GET);
          await settle();
        }
        const head = await client.request({ method: "HEAD", path: "/v2/a/manifests/x" });
        assert.equal(head.headers["content-length"], "5");
        assert.equal(head.body.length, 0);
        await settle();
        const res = await client.request(GET);
        assert.equal(res.body.toString(), '{"ok":true}');
        assert.equal(up.seen.length, 5);
        assert.equal(up.connections(), 1, "one kept-alive connection for five calls");
      },
    );
  });

  it("the proxy closes its client's kept-alive connections at shutdown", async () => {
    const up = await startRawUpstream(({ socket }) => answer(socket, '{"name":"a","tags":["x"]}'));
    try {
      const proxy = await startProxy(up.url);
      let stopped = false;
      try {
        const res = await request("GET", `${proxy.url}/v2/a/tags/_list`);
        assert.equal(res.status, 200, res.text);
        assert.equal(up.connections(), 1);
        assert.equal(up.closedConnections(), 0, "kept alive after the call");
        await proxy.stop();
        stopped = true;
        await until("the upstream connection closed", () => up.closedConnections() === 1);
      } finally {
        if (!stopped) await proxy.stop();
      }
    } finally {
      await up.stop();
    }
  });

  it("an upstream URL with a path prefix: the prefix goes before every path, with the upstream's Host", async () => {
    await withUpstream(
      ({ socket }) => answer(socket),
      async (up) => {
        const prefixed = clientFor(`${up.url}/mirror/`);
        try {
          await prefixed.request(GET);
          assert.equal(up.seen[0]!.line, "GET /mirror/v2/a/tags/list HTTP/1.1");
          assert.match(up.seen[0]!.head, new RegExp(`\\r\\nhost: 127\\.0\\.0\\.1:${up.port}\\r\\n`, "i"));
        } finally {
          await prefixed.close();
        }
      },
    );
  });
});

describe("upstream client: transport faults", () => {
  it("GET to a port nobody listens on → unreachable (ECONNREFUSED)", async () => {
    const client = clientFor(`http://127.0.0.1:${await closedPort()}`);
    try {
      const e = await rejection(client.request(GET));
      assert.equal(e.kind, "unreachable");
      assert.equal(e.message, "upstream GET failed: ECONNREFUSED");
    } finally {
      await client.close();
    }
  });

  it("GET to an upstream that never answers → timeout after requestTimeoutMs, its connection closed", async () => {
    await withUpstream(
      () => {},
      async (up, client) => {
        const started = Date.now();
        const e = await rejection(client.request(GET));
        assert.equal(e.kind, "timeout");
        assert.equal(e.message, "upstream did not answer GET within 200 ms");
        assert.ok(Date.now() - started >= 190, `timed out after ${Date.now() - started} ms`);
        await up.whenClosed(0);
        // A per-call deadline shorter than the target's.
        const short = await rejection(client.request({ ...GET, timeoutMs: 50 }));
        assert.equal(short.message, "upstream did not answer GET within 50 ms");
      },
      { requestTimeoutMs: 200 },
    );
  });

  it("the deadline covers the body too: a body that stops half way → timeout", async () => {
    await withUpstream(
      ({ socket }) => socket.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"),
      async (up, client) => {
        const e = await rejection(client.request({ ...GET, timeoutMs: 100 }));
        assert.equal(e.kind, "timeout");
        await up.whenClosed(0);
      },
    );
  });

  it("GET aborted by its signal while waiting → aborted, connection closed; already aborted → nothing sent", async () => {
    await withUpstream(
      () => {},
      async (up, client) => {
        const ac = new AbortController();
        const call = client.request({ ...GET, signal: ac.signal });
        await until("the request upstream", () => up.seen.length === 1);
        ac.abort();
        const e = await rejection(call);
        assert.equal(e.kind, "aborted");
        assert.equal(e.message, "request aborted by the client");
        await up.whenClosed(0);
        const again = await rejection(client.request({ ...GET, signal: AbortSignal.abort() }));
        assert.equal(again.kind, "aborted");
        assert.equal(up.connections(), 1);
        assert.equal(up.seen.length, 1);
      },
    );
  });

  it("a body over maxBodyBytes (by Content-Length, or chunked without end) → too-large, connection closed", async () => {
    const chunk = "x".repeat(4096);
    const bodies = [
      // Announced larger than the cap; only part sent.
      `HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n${chunk}`,
      // Chunked, growing past the cap, never ending.
      `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${`1000\r\n${chunk}\r\n`.repeat(4)}`,
    ];
    await withUpstream(
      ({ socket, conn }) => socket.write(bodies[conn]!),
      async (up, client) => {
        for (let i = 0; i < bodies.length; i++) {
          const e = await rejection(client.request({ ...GET, maxBodyBytes: 10_000 }));
          assert.equal(e.kind, "too-large", `body ${i}`);
          assert.equal(e.message, "upstream body exceeds 10000 bytes");
          await up.whenClosed(i);
        }
        // At the cap exactly: fine.
        up.script = ({ socket }) => answer(socket, "0123456789");
        const ok = await client.request({ ...GET, maxBodyBytes: 10 });
        assert.equal(ok.body.toString(), "0123456789");
      },
    );
  });

  it("the default cap is 4 MiB; a HEAD answer announcing more is fine (it has no body)", async () => {
    const big = 4 * 1024 * 1024 + 1;
    await withUpstream(
      ({ socket }) => socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${big}\r\n\r\n`),
      async (_up, client) => {
        const e = await rejection(client.request(GET));
        assert.equal(e.kind, "too-large");
        assert.equal(e.message, `upstream body exceeds ${4 * 1024 * 1024} bytes`);
        const head = await client.request({ method: "HEAD", path: "/v2/a/blobs/sha256:1" });
        assert.equal(head.status, 200);
        assert.equal(head.headers["content-length"], String(big));
      },
    );
  });

  it("a body cut by the upstream closing → reset ('response broke'), not a short body", async () => {
    await withUpstream(
      ({ socket }) => socket.end("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"),
      async (_up, client) => {
        const e = await rejection(client.request(GET));
        assert.equal(e.kind, "reset");
        assert.match(e.message, /^upstream response broke: /);
      },
    );
  });

  it("a malformed status line → reset, connection closed", async () => {
    await withUpstream(
      ({ socket }) => socket.write("HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n"),
      async (up, client) => {
        const e = await rejection(client.request(GET));
        assert.equal(e.kind, "reset");
        await up.whenClosed(0);
      },
    );
  });
});

describe("upstream client: stale keep-alive sockets", () => {
  it("GET on a kept-alive socket closed unanswered → sent once more on a new connection → 200", async () => {
    await withUpstream(
      ({ socket, conn, index }) => {
        if (conn === 0 && index === 1) socket.destroy();
        else answer(socket, `{"conn":${conn}}`);
      },
      async (up, client) => {
        assert.equal((await client.request(GET)).body.toString(), '{"conn":0}');
        await settle();
        const res = await client.request(GET);
        assert.equal(res.status, 200);
        assert.equal(res.body.toString(), '{"conn":1}');
        assert.deepEqual(
          up.seen.map((x) => [x.conn, x.index]),
          [
            [0, 0],
            [0, 1],
            [1, 0],
          ],
        );
      },
    );
  });

  it("HEAD on a stale socket is retried once too; a retry that fails as well → reset, two sends only", async () => {
    await withUpstream(
      ({ socket, conn, index }) => {
        if (conn === 0 && index === 0) answer(socket);
        else socket.destroy();
      },
      async (up, client) => {
        await client.request(GET);
        await settle();
        const e = await rejection(client.request({ method: "HEAD", path: "/v2/a/manifests/x" }));
        assert.equal(e.kind, "reset");
        assert.equal(up.seen.filter((x) => x.line.startsWith("HEAD ")).length, 2);
      },
    );
  });

  it("a GET whose fresh connection closes unanswered is not resent", async () => {
    await withUpstream(
      ({ socket }) => socket.destroy(),
      async (up, client) => {
        const e = await rejection(client.request(GET));
        assert.equal(e.kind, "reset");
        assert.equal(up.seen.length, 1);
      },
    );
  });

  for (const method of ["DELETE", "PUT"]) {
    it(`${method} on a stale kept-alive socket is sent exactly once: the caller gets reset`, async () => {
      await withUpstream(
        ({ socket, line }) => {
          if (line.startsWith(`${method} `)) socket.destroy();
          else answer(socket);
        },
        async (up, client) => {
          await client.request(GET); // leaves a free kept-alive socket
          await settle();
          const body = method === "PUT" ? Buffer.from('{"a":1}') : undefined;
          const e = await rejection(
            client.request({
              method,
              path: "/v2/a/manifests/t",
              ...(body ? { body, headers: { "content-type": "application/json" } } : {}),
            }),
          );
          assert.equal(e.kind, "reset");
          const sent = up.seen.filter((x) => x.line.startsWith(`${method} `));
          assert.equal(sent.length, 1, `${method} sent once`);
          assert.equal(sent[0]!.conn, 0, "it went on the kept-alive connection");
          if (body) assert.match(sent[0]!.head, /\r\ncontent-length: 7(\r\n|$)/i);
          // The client still works: the next call opens a new connection.
          assert.equal((await client.request(GET)).status, 200);
          assert.equal(up.seen.filter((x) => x.line.startsWith(`${method} `)).length, 1);
        },
      );
    });
  }
});
