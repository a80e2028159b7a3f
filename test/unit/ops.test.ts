import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { healthUrl } from "../../src/commands/healthcheck.js";
import { ConfigError, loadConfig } from "../../src/config.js";
import { isLoopbackHost, localUrl } from "../../src/http/local-url.js";
import { statusClass } from "../../src/ops/metrics.js";
import { formatLine } from "../../src/ops/pretty.js";
import { isSaneRequestId, requestIdFrom } from "../../src/ops/request-id.js";

describe("ops configuration keys", () => {
  it("defaults: log.format auto, metrics on the main port without repository labels, 30 s grace", () => {
    const c = loadConfig({ env: {} });
    assert.equal(c.log.format, "auto");
    assert.equal(c.metrics.port, null);
    assert.equal(c.metrics.repositoryLabel, false);
    assert.equal(c.shutdown.graceMs, 30000);
    assert.equal(c.shutdown.drainDelayMs, 0);
  });

  it("reads LOG_FORMAT, METRICS_PORT (empty = null), METRICS_REPOSITORY_LABEL and SHUTDOWN_* from the environment", () => {
    const c = loadConfig({
      env: {
        LOG_FORMAT: "pretty",
        METRICS_PORT: "9102",
        METRICS_REPOSITORY_LABEL: "true",
        SHUTDOWN_GRACE_MS: "5000",
        SHUTDOWN_DRAIN_DELAY_MS: "2000",
      },
    });
    assert.equal(c.log.format, "pretty");
    assert.equal(c.metrics.port, 9102);
    assert.equal(c.metrics.repositoryLabel, true);
    assert.equal(c.shutdown.graceMs, 5000);
    assert.equal(c.shutdown.drainDelayMs, 2000);
    assert.equal(loadConfig({ env: { METRICS_PORT: "" } }).metrics.port, null);
  });

  it("rejects a bad log format, a negative grace and a metrics port equal to the main port, naming the key", () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ LOG_FORMAT: "xml" }, /log\.format/],
      [{ SHUTDOWN_GRACE_MS: "-1" }, /shutdown\.graceMs/],
      [{ METRICS_PORT: "70000" }, /metrics\.port/],
      [{ PORT: "8080", METRICS_PORT: "8080" }, /metrics\.port: must differ/],
    ];
    for (const [env, message] of cases) {
      assert.throws(
        () => loadConfig({ env }),
        (e: unknown) => e instanceof ConfigError && message.test(e.message),
      );
    }
  });
});

describe("request ids", () => {
  it("accepts 1-128 characters of [A-Za-z0-9._-] only", () => {
    for (const ok of ["a", "A.b_c-9", "x".repeat(128), "3f1c2a4e-8b9d-4c1e-9f0a-123456789abc"])
      assert.ok(isSaneRequestId(ok), ok);
    for (const bad of ["", "x".repeat(129), "a b", "a,b", "a\nb", "é", "a/b", undefined])
      assert.ok(!isSaneRequestId(bad), String(bad));
  });

  it("keeps a sane id and replaces anything else with a UUID", () => {
    assert.equal(requestIdFrom("abc-1"), "abc-1");
    assert.match(requestIdFrom("bad id"), /^[0-9a-f-]{36}$/);
    assert.match(requestIdFrom(["a", "b"]), /^[0-9a-f-]{36}$/);
    assert.notEqual(requestIdFrom(undefined), requestIdFrom(undefined));
  });
});

describe("labels and formatting", () => {
  it("statusClass maps status codes to 1xx..5xx", () => {
    assert.deepEqual([100, 200, 204, 301, 404, 499, 500, 503, 599].map(statusClass), [
      "1xx",
      "2xx",
      "2xx",
      "3xx",
      "4xx",
      "4xx",
      "5xx",
      "5xx",
      "5xx",
    ]);
  });

  it("formatLine renders a pino JSON line readably", () => {
    const line = JSON.stringify({
      level: 40,
      time: "2026-01-02T03:04:05.678Z",
      service: "registry-compat-proxy",
      requestId: "r1",
      path: "/v2/a b",
      status: 503,
      msg: "upstream exchange failed",
    });
    assert.equal(
      formatLine(line, false),
      '03:04:05.678 WARN  upstream exchange failed requestId=r1 path="/v2/a b" status=503\n',
    );
    assert.equal(formatLine("not json", false), "not json\n");
  });

  it("localUrl reaches a wildcard listener on 127.0.0.1 and brackets IPv6; isLoopbackHost knows every loopback spelling", () => {
    assert.equal(localUrl("0.0.0.0", 1, false), "http://127.0.0.1:1");
    assert.equal(localUrl("[::]", 2, true), "https://127.0.0.1:2");
    assert.equal(localUrl("::1", 3, false), "http://[::1]:3");
    assert.equal(localUrl("10.0.0.2", 4, false), "http://10.0.0.2:4");
    for (const h of ["localhost", "127.0.0.1", "127.9.9.9", "::1", "[::1]", "::ffff:127.0.0.1"])
      assert.ok(isLoopbackHost(h), h);
    for (const h of ["0.0.0.0", "::", "10.1.2.3", "example.com", "fe80::1"]) assert.ok(!isLoopbackHost(h), h);
  });

  it("healthUrl targets loopback with the configured port and scheme", () => {
    assert.equal(healthUrl({ host: "0.0.0.0", port: 5080, tlsCert: null }), "http://127.0.0.1:5080/healthz");
    assert.equal(healthUrl({ host: "::", port: 443, tlsCert: "c.pem" }), "https://127.0.0.1:443/healthz");
    assert.equal(healthUrl({ host: "::1", port: 8080, tlsCert: null }), "http://[::1]:8080/healthz");
  });
});
