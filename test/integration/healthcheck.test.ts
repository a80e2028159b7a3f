/**
 * `registry-compat-proxy healthcheck` (container HEALTHCHECK): GET /healthz on
 * the proxy, through the proxy's one HTTP client.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { runCommandLine } from "../../src/commands/command-line.js";
import { checkHealth } from "../../src/commands/healthcheck.js";
import { useRegistryAndProxy } from "../helpers/fixture.js";
import { closedPort } from "../helpers/net.js";
import type { TestProxy } from "../helpers/proxy.js";
import { makeCa, type TestCa } from "../helpers/tls.js";

describe("healthcheck", () => {
  let tlsProxy: TestProxy;
  let ca: TestCa;
  const fx = useRegistryAndProxy();
  before(async () => {
    ca = makeCa();
    const cert = ca.issueServer("proxy");
    tlsProxy = await fx.addProxy({ listen: { tlsCert: cert.cert, tlsKey: cert.key } });
  });
  after(() => ca.cleanup());

  it("a running proxy is healthy, over http and over https with a certificate nobody trusts", async () => {
    assert.equal(await checkHealth(`${fx.proxy.url}/healthz`), true);
    assert.ok(tlsProxy.url.startsWith("https://"));
    assert.equal(await checkHealth(`${tlsProxy.url}/healthz`), true);
  });

  it("a path that is not 200, and a port nobody listens on, are unhealthy", async () => {
    assert.equal(await checkHealth(`${fx.proxy.url}/nothing-here`), false);
    assert.equal(await checkHealth(`http://127.0.0.1:${await closedPort()}/healthz`), false);
  });

  it("healthcheck says why it is unhealthy: the status and body it got, or the connection's failure", async () => {
    const run = async (url: string) => {
      let out = "";
      let err = "";
      const code = await runCommandLine(["healthcheck", "--url", url], {
        out: (t) => (out += t),
        err: (t) => (err += t),
      });
      return { code, out, err };
    };
    const notFound = await run(`${fx.proxy.url}/nothing-here`);
    assert.equal(notFound.code, 1);
    assert.match(notFound.err, /^unhealthy: http:\/\/127\.0\.0\.1:\d+\/nothing-here answered 404\b/);
    const closed = `http://127.0.0.1:${await closedPort()}/healthz`;
    const refused = await run(closed);
    assert.equal(refused.code, 1);
    assert.ok(refused.err.startsWith(`unhealthy: ${closed} `), refused.err);
    assert.match(refused.err, /cannot connect \(ECONNREFUSED\): is the proxy running there\?/);
    const healthy = await run(`${fx.proxy.url}/healthz`);
    assert.equal(healthy.code, 0, healthy.err);
    assert.equal(healthy.err, "");
  });
});
