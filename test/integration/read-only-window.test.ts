import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { useRegistryAndProxy } from "../helpers/fixture.js";
import { startHeldUpload } from "../helpers/held-upload.js";
import { request } from "../helpers/http.js";
import { MT, makeImage, pushBlob, pushImage } from "../helpers/oci.js";
import { parseMetrics, sampleValue } from "../helpers/prometheus.js";

const json = { "content-type": "application/json" };

async function enter(admin: string, leaseMs: number): Promise<string> {
  const res = await request("POST", `${admin}/admin/read-only`, {
    headers: json,
    body: JSON.stringify({ holder: "test", leaseMs }),
  });
  assert.equal(res.status, 200, res.text);
  return res.json<{ lease: { id: string } }>().lease.id;
}

/** Polls `check` until true; the deadline only catches a hang. */
async function until(check: () => Promise<boolean>, deadlineMs = 60_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("condition not met before the deadline");
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("the read-only window on a real docker-registry 2.8", () => {
  let admin: string;
  const fx = useRegistryAndProxy({ proxy: { metrics: { port: 0 }, maintenance: { writeWaitMs: 5000 } } });
  before(async () => {
    admin = fx.proxy.proxy.metricsUrl()!;
  });

  it("a push during the window gets 503 UNAVAILABLE with Retry-After, reads are served, and the push succeeds once it closes", async () => {
    const image = makeImage({ layerCount: 1 });
    await pushImage(fx.proxy.url, "window/app", image, ["before"]);
    const lease = await enter(admin, 60_000);

    const start = await request("POST", `${fx.proxy.url}/v2/window/app/blobs/uploads/`);
    assert.equal(start.status, 503);
    assert.ok(Number(start.headers["retry-after"]) >= 1, "Retry-After names seconds");
    assert.equal(start.json<{ errors: { code: string }[] }>().errors[0]!.code, "UNAVAILABLE");
    const put = await request("PUT", `${fx.proxy.url}/v2/window/app/manifests/after`, {
      headers: { "content-type": image.mediaType },
      body: image.manifest.bytes,
    });
    assert.equal(put.status, 503);
    for (const path of ["manifests/before", "tags/before", `blobs/${image.layers[0]!.digest}`]) {
      const del = await request("DELETE", `${fx.proxy.url}/v2/window/app/${path}`);
      assert.equal(del.status, 503, `DELETE ${path}`);
    }
    const read = await request("GET", `${fx.proxy.url}/v2/window/app/manifests/before`, {
      headers: { accept: MT.ociManifest },
    });
    assert.equal(read.status, 200);
    const blob = await request("GET", `${fx.proxy.url}/v2/window/app/blobs/${image.layers[0]!.digest}`);
    assert.equal(blob.status, 200);

    const state = await request("GET", `${admin}/admin/read-only`);
    assert.equal(state.json<{ readOnly: boolean; refused: number }>().readOnly, true);
    assert.equal(state.json<{ refused: number }>().refused, 5);
    const metrics = parseMetrics((await request("GET", `${admin}/metrics`)).text);
    assert.equal(sampleValue(metrics, "rcp_read_only"), 1);
    assert.equal(sampleValue(metrics, "rcp_writes_refused_total"), 5);

    assert.equal((await request("DELETE", `${admin}/admin/read-only/${lease}`)).status, 204);
    // The same push, refused above, now succeeds.
    await pushImage(fx.proxy.url, "window/app", image, ["after"]);
    const after = parseMetrics((await request("GET", `${admin}/metrics`)).text);
    assert.equal(sampleValue(after, "rcp_read_only"), 0);
  });

  it("the holder's own DELETE carries the lease and passes", async () => {
    const image = makeImage({ layerCount: 1 });
    const digest = await pushImage(fx.proxy.url, "window/holder", image, ["x"]);
    const lease = await enter(admin, 60_000);
    try {
      const del = await request("DELETE", `${fx.proxy.url}/v2/window/holder/manifests/${digest}`, {
        headers: { "rcp-maintenance-lease": lease },
      });
      assert.equal(del.status, 202, del.text);
    } finally {
      await request("DELETE", `${admin}/admin/read-only/${lease}`);
    }
  });

  it("a second holder gets 409; a lease nobody renews expires and writes are accepted again", async () => {
    await enter(admin, 1500);
    const second = await request("POST", `${admin}/admin/read-only`, { headers: json, body: "{}" });
    assert.equal(second.status, 409);
    const blob = makeImage({ layerCount: 1 }).layers[0]!;
    assert.equal((await request("POST", `${fx.proxy.url}/v2/window/expiry/blobs/uploads/`)).status, 503);
    await until(
      async () =>
        (await request("GET", `${admin}/admin/read-only`)).json<{ readOnly: boolean }>().readOnly === false,
    );
    await pushBlob(fx.proxy.url, "window/expiry", blob);
    const renewGone = await request("PUT", `${admin}/admin/read-only/nonexistent`, {
      headers: json,
      body: "{}",
    });
    assert.equal(renewGone.status, 404);
  });

  it("entering waits for a write in flight to finish", async () => {
    // A PATCH whose body is still coming when the window is entered.
    const held = await startHeldUpload(fx.proxy.url, "window/inflight");
    await until(
      async () =>
        (await request("GET", `${admin}/admin/read-only`)).json<{ inFlightWrites: unknown[] }>()
          .inFlightWrites.length === 1,
    );
    const entering = request("POST", `${admin}/admin/read-only`, {
      headers: json,
      body: JSON.stringify({ holder: "test", leaseMs: 60_000 }),
    });
    held.finish();
    assert.equal(await held.answered, 202);
    const entered = await entering;
    assert.equal(entered.status, 200);
    const body = entered.json<{ lease: { id: string }; gaveUpOn: unknown[] }>();
    assert.deepEqual(body.gaveUpOn, []);
    await request("DELETE", `${admin}/admin/read-only/${body.lease.id}`);
  });

  it("the admin endpoints are not on the public port", async () => {
    for (const [method, path] of [
      ["GET", "/admin/read-only"],
      ["POST", "/admin/read-only"],
      ["DELETE", "/admin/read-only/x"],
    ] as const) {
      const res = await request(method, `${fx.proxy.url}${path}`, { headers: json, body: "{}" });
      assert.notEqual(res.status, 200, `${method} ${path}`);
      assert.notEqual(res.status, 204, `${method} ${path}`);
    }
    assert.equal(
      (await request("GET", `${admin}/admin/read-only`)).json<{ readOnly: boolean }>().readOnly,
      false,
    );
  });
});
