/**
 * The raw upstream client's pure parts: response header folding as Node's
 * IncomingMessage folds (src/http/fold-headers.ts), the request head it writes
 * and the input it refuses as Node's ClientRequest does
 * (src/upstream/raw-request-head.ts), and the shared deadline timer
 * (src/util/deadline-timer.ts).
 */
import assert from "node:assert/strict";
import http from "node:http";
import { performance } from "node:perf_hooks";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { foldHeaders, SINGLE_VALUE_FIELDS } from "../../src/http/fold-headers.js";
import { buildRequestHead } from "../../src/upstream/raw-request-head.js";
import { DeadlineTimer } from "../../src/util/deadline-timer.js";

function fold(lines: Array<[string, string]>) {
  return foldHeaders(
    lines.map(([n]) => n.toLowerCase()),
    lines.map(([, v]) => v),
  );
}

describe("foldHeaders (as Node's IncomingMessage.headers)", () => {
  it("lowercase names; repeated fields joined with ', ' in order", () => {
    const h = fold([
      ["Docker-Distribution-Api-Version", "registry/2.0"],
      ["Link", '</v2/a/tags/list?last=b&n=2>; rel="next"'],
      ["WWW-Authenticate", 'Bearer realm="a"'],
      ["www-authenticate", 'Basic realm="b"'],
      ["Vary", "Accept"],
      ["vary", "Cookie"],
      ["X-Empty", ""],
    ]);
    assert.deepEqual(h, {
      "docker-distribution-api-version": "registry/2.0",
      link: '</v2/a/tags/list?last=b&n=2>; rel="next"',
      "www-authenticate": 'Bearer realm="a", Basic realm="b"',
      vary: "Accept, Cookie",
      "x-empty": "",
    });
  });

  it("set-cookie is an array (even once); cookie joined with '; '", () => {
    assert.deepEqual(fold([["Set-Cookie", "a=1"]]), { "set-cookie": ["a=1"] });
    assert.deepEqual(
      fold([
        ["Set-Cookie", "a=1"],
        ["set-cookie", "b=2"],
        ["Cookie", "x=1"],
        ["cookie", "y=2"],
      ]),
      { "set-cookie": ["a=1", "b=2"], cookie: "x=1; y=2" },
    );
  });

  it("content-type, content-length, location, etag and the other single-value fields keep the first", () => {
    for (const name of SINGLE_VALUE_FIELDS) {
      assert.deepEqual(
        fold([
          [name, "first"],
          [name.toUpperCase(), "second"],
        ]),
        { [name]: "first" },
        name,
      );
    }
    assert.ok(SINGLE_VALUE_FIELDS.has("content-type"));
    assert.ok(SINGLE_VALUE_FIELDS.has("location"));
    assert.ok(!SINGLE_VALUE_FIELDS.has("docker-content-digest"));
  });

  it("names an object inherits (constructor, toString) are plain fields", () => {
    const h = fold([
      ["constructor", "a"],
      ["constructor", "b"],
      ["toString", "c"],
    ]);
    assert.equal(h["constructor"], "a, b");
    assert.equal(h["tostring"], "c");
  });
});

describe("buildRequestHead", () => {
  const base = { method: "GET", path: "/v2/a/tags/list", host: "127.0.0.1:5000", contentLength: -1 };

  it("request line, Host, caller headers in order (arrays repeated, numbers as text), keep-alive", () => {
    const head = buildRequestHead({
      ...base,
      headers: { authorization: "Basic eA==", accept: ["a/b", "c/d"], "x-n": 3, "X-Request-Id": "r1" },
    });
    assert.equal(
      head,
      [
        "GET /v2/a/tags/list HTTP/1.1",
        "Host: 127.0.0.1:5000",
        "authorization: Basic eA==",
        "accept: a/b",
        "accept: c/d",
        "x-n: 3",
        "X-Request-Id: r1",
        "Connection: keep-alive",
        "",
        "",
      ].join("\r\n"),
    );
  });

  it("Host, Content-Length, Transfer-Encoding and Connection come from the client, never the caller", () => {
    const head = buildRequestHead({
      ...base,
      method: "PUT",
      contentLength: 12,
      headers: {
        Host: "evil",
        "content-length": "99",
        "Transfer-Encoding": "chunked",
        connection: "close",
        "content-type": "application/json",
      },
    });
    assert.equal(
      head,
      "PUT /v2/a/tags/list HTTP/1.1\r\nHost: 127.0.0.1:5000\r\ncontent-type: application/json\r\n" +
        "Content-Length: 12\r\nConnection: keep-alive\r\n\r\n",
    );
    assert.match(
      buildRequestHead({ ...base, method: "DELETE", contentLength: 0, headers: {} }),
      /Content-Length: 0\r\n/,
    );
    assert.doesNotMatch(buildRequestHead({ ...base, headers: {} }), /Content-Length/);
  });

  it("obs-text and tabs in values go out as latin1 text, as Node sends them", () => {
    const head = buildRequestHead({ ...base, headers: { "x-a": "caf\u00e9\tok" } });
    assert.match(head, /x-a: caf\u00e9\tok\r\n/);
  });

  it("CR, LF, NUL and other control bytes in values → the TypeError Node throws (ERR_INVALID_CHAR)", () => {
    for (const bad of ["a\r\nX-Injected: 1", "a\nb", "a\rb", "a\u0000b", "a\u001bb", "caf\u0100"]) {
      const expected = nodeThrows({ "x-a": bad });
      assert.equal(expected, "ERR_INVALID_CHAR", JSON.stringify(bad));
      assert.throws(
        () => buildRequestHead({ ...base, headers: { "x-a": bad } }),
        (e: unknown) => e instanceof TypeError && (e as NodeJS.ErrnoException).code === expected,
        JSON.stringify(bad),
      );
      assert.throws(() => buildRequestHead({ ...base, headers: { "x-a": ["ok", bad] } }), TypeError);
    }
  });

  it("bad header names, undefined values, bad methods and paths → Node's TypeErrors", () => {
    const cases: Array<[Parameters<typeof buildRequestHead>[0], string]> = [
      [{ ...base, headers: { "x a": "1" } }, "ERR_INVALID_HTTP_TOKEN"],
      [{ ...base, headers: { "x\r\ny": "1" } }, "ERR_INVALID_HTTP_TOKEN"],
      [{ ...base, headers: { "x-a": undefined } }, "ERR_HTTP_INVALID_HEADER_VALUE"],
      [{ ...base, method: "GE T", headers: {} }, "ERR_INVALID_HTTP_TOKEN"],
      [{ ...base, path: "/v2/a b", headers: {} }, "ERR_UNESCAPED_CHARACTERS"],
      [{ ...base, path: "/v2/a\r\nX: y", headers: {} }, "ERR_UNESCAPED_CHARACTERS"],
    ];
    for (const [input, code] of cases) {
      assert.equal(nodeThrows(input.headers ?? {}, input.method, input.path), code, JSON.stringify(input));
      assert.throws(
        () => buildRequestHead(input),
        (e: unknown) => e instanceof TypeError && (e as NodeJS.ErrnoException).code === code,
        JSON.stringify(input),
      );
    }
  });
});

/** The code of the error Node's http.request throws for these inputs (it never connects: port 9 on a dead agent). */
function nodeThrows(headers: http.OutgoingHttpHeaders, method = "GET", path = "/"): string | undefined {
  try {
    const req = http.request({ host: "127.0.0.1", port: 9, method, path, headers, agent: false });
    req.on("error", () => {});
    req.destroy();
    return undefined;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code;
  }
}

describe("DeadlineTimer", () => {
  it("expires each operation at or after its deadline, in order, and not the ones deleted", async () => {
    const t = new DeadlineTimer();
    const fired: Array<[string, number]> = [];
    const now = performance.now();
    // The timer is unref'd: an interval keeps this test's event loop up meanwhile.
    const keep = setInterval(() => {}, 1000);
    let lastFired: () => void = () => {};
    const allFired = new Promise<void>((resolve) => (lastFired = resolve));
    const op = (name: string, ms: number, last = false) => ({
      deadline: now + ms,
      expire: () => {
        fired.push([name, performance.now() - now]);
        if (last) lastFired();
      },
    });
    const gone = op("gone", 30);
    t.add(op("late", 60, true));
    t.add(op("early", 20)); // added after a later one: the timer re-arms earlier
    t.add(gone);
    t.delete(gone);
    await allFired;
    clearInterval(keep);
    assert.deepEqual(
      fired.map(([name]) => name),
      ["early", "late"],
    );
    assert.ok(fired[0]![1] >= 20 && fired[1]![1] >= 60, JSON.stringify(fired));
    assert.equal(t.size, 0);
    t.close();
  });

  it("never fires before the deadline (its timer is unref'd: the operations' own I/O keeps a process up)", async () => {
    const t = new DeadlineTimer();
    const start = performance.now();
    let at = 0;
    t.add({ deadline: start + 25, expire: () => (at = performance.now()) });
    await sleep(70);
    assert.ok(at - start >= 25, `fired after ${at - start} ms`);
    t.close();
  });
});
