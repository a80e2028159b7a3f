/**
 * `serve --port PORT --upstream URL` as a newcomer types it: the flags win over the
 * environment (PORT, UPSTREAM_URL) and the files; the proxy listens there and fronts that
 * registry.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { request } from "../helpers/http.js";
import { closedPort } from "../helpers/net.js";
import { spawnProxy } from "../helpers/proxy-process.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";

describe("serve --port --upstream", () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry();
  });
  after(async () => {
    await registry.stop();
  });

  it("GET /v2/ on the --port answers 200 from the --upstream registry, over PORT and UPSTREAM_URL", async () => {
    const port = await closedPort();
    const other = `http://127.0.0.1:${await closedPort()}`;
    const proxy = await spawnProxy({ PORT: "1", UPSTREAM_URL: other }, 120_000, [
      "--import",
      "tsx",
      "src/cli.ts",
      "serve",
      "--port",
      String(port),
      "--upstream",
      registry.url,
    ]);
    try {
      assert.equal(proxy.port, port);
      const line = await proxy.waitForLog("proxy listening");
      assert.equal(line["upstream"], registry.url);
      const res = await request("GET", `http://127.0.0.1:${port}/v2/`);
      assert.equal(res.status, 200);
    } finally {
      proxy.kill();
      await proxy.exited;
    }
  });
});
