/**
 * `registry-compat-proxy healthcheck` (container HEALTHCHECK): GET /healthz on
 * the proxy, through the proxy's one HTTP client.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { checkHealth } from "../../src/commands/healthcheck.js";
import { closedPort } from "../helpers/net.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { makeCa, type TestCa } from "../helpers/tls.js";

describe("healthcheck", () => {
  let registry: TestRegistry;
  let proxy: TestProxy;
  let tlsProxy: TestProxy;
  let ca: TestCa;

  before(async () => {
    ca = makeCa();
    const cert = ca.issueServer("proxy");
    registry = await startRegistry();
    proxy = await startProxy(registry.url);
    tlsProxy = await startProxy(registry.url, { listen: { tlsCert: cert.cert, tlsKey: cert.key } });
  });
  after(async () => {
    await tlsProxy.stop();
    await proxy.stop();
    await registry.stop();
    ca.cleanup();
  });

  it("a running proxy is healthy, over http and over https with a certificate nobody trusts", async () => {
    assert.equal(await checkHealth(`${proxy.url}/healthz`), true);
    assert.ok(tlsProxy.url.startsWith("https://"));
    assert.equal(await checkHealth(`${tlsProxy.url}/healthz`), true);
  });

  it("a path that is not 200, and a port nobody listens on, are unhealthy", async () => {
    assert.equal(await checkHealth(`${proxy.url}/nothing-here`), false);
    assert.equal(await checkHealth(`http://127.0.0.1:${await closedPort()}/healthz`), false);
  });
});
