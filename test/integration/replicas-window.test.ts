/**
 * The read-only window across replicas (issue 20 and the gc issue): two proxies
 * sharing a real redis-server in front of one real docker-registry 2.8. The
 * window is entered on A's admin endpoint and holds writes on B too.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { startHeldUpload } from "../helpers/held-upload.js";
import { request } from "../helpers/http.js";
import { makeImage, pushBlob } from "../helpers/oci.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRedis, type TestRedis } from "../helpers/redis.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { errorCode } from "../helpers/tag-delete.js";

const json = { "content-type": "application/json" };

/** Polls `check` until true; the deadline only catches a hang. */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + 60_000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function enter(admin: string, leaseMs: number) {
  return request("POST", `${admin}/admin/read-only`, {
    headers: json,
    body: JSON.stringify({ holder: "test", leaseMs }),
  });
}

async function readOnly(admin: string): Promise<boolean> {
  return (await request("GET", `${admin}/admin/read-only`)).json<{ readOnly: boolean }>().readOnly;
}

describe("the read-only window across replicas (real registry, real redis-server, two proxies)", () => {
  let registry: TestRegistry;
  let redis: TestRedis;
  let a: TestProxy;
  let b: TestProxy;
  let adminA: string;
  let adminB: string;

  before(async () => {
    registry = await startRegistry();
    redis = await startRedis();
    const shared = {
      metrics: { port: 0 },
      maintenance: { writeWaitMs: 60_000 },
      state: { redisUrl: redis.url },
      log: { level: "warn" },
    };
    a = await startProxy(registry.url, shared);
    b = await startProxy(registry.url, shared);
    adminA = a.proxy.metricsUrl()!;
    adminB = b.proxy.metricsUrl()!;
    // Both replicas listen for window events and announce themselves before the tests enter.
    const probe = new Redis(redis.url);
    try {
      await until("both replicas subscribed and alive", async () => {
        const keys = await probe.keys("*replica:*");
        const channels = (await probe.call("PUBSUB", "CHANNELS", "*window-events")) as string[];
        if (keys.length < 2 || channels.length !== 1) return false;
        const [, n] = (await probe.call("PUBSUB", "NUMSUB", channels[0]!)) as [string, number];
        return Number(n) === 2;
      });
    } finally {
      probe.disconnect();
    }
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await redis?.dispose();
    await registry?.stop();
  });

  it("entered through A: a push through B gets 503 with Retry-After; after leaving, B accepts it", async () => {
    const blob = makeImage({ layerCount: 1 }).layers[0]!;
    const entered = await enter(adminA, 60_000);
    assert.equal(entered.status, 200, entered.text);
    const body = entered.json<{ lease: { id: string }; replicas: { missing: string[] } }>();
    assert.deepEqual(body.replicas.missing, []);
    assert.equal(await readOnly(adminB), true);
    const refused = await request("POST", `${b.url}/v2/window/rep/blobs/uploads/`);
    assert.equal(refused.status, 503, refused.text);
    assert.equal(errorCode(refused), "UNAVAILABLE");
    assert.ok(Number(refused.headers["retry-after"]) >= 1, "Retry-After");
    // A second holder, on B, is refused while A's lease runs.
    assert.equal((await enter(adminB, 60_000)).status, 409);
    // The holder's own writes pass on every replica.
    const own = await request("POST", `${b.url}/v2/window/rep/blobs/uploads/`, {
      headers: { "rcp-maintenance-lease": body.lease.id },
    });
    assert.notEqual(own.status, 503, own.text);

    assert.equal((await request("DELETE", `${adminA}/admin/read-only/${body.lease.id}`)).status, 204);
    await until("B open again", async () => !(await readOnly(adminB)));
    await pushBlob(b.url, "window/rep", blob);
  });

  it("a lease nobody renews expires by itself on both replicas", async () => {
    const entered = await enter(adminA, 1500);
    assert.equal(entered.status, 200, entered.text);
    assert.equal((await request("POST", `${b.url}/v2/window/expiry/blobs/uploads/`)).status, 503);
    await until("both open again", async () => !(await readOnly(adminA)) && !(await readOnly(adminB)));
    for (const p of [a, b]) await pushBlob(p.url, "window/expiry", makeImage({ layerCount: 1 }).layers[0]!);
  });

  it("entering through A waits for a write in flight on B", async () => {
    // A PATCH through B whose body is still coming when the window is entered on A.
    const held = await startHeldUpload(b.url, "window/inflight");
    assert.equal(held.startStatus, 202);
    const inFlightOnB = async () =>
      (await request("GET", `${adminB}/admin/read-only`)).json<{ inFlightWrites: unknown[] }>().inFlightWrites
        .length === 1;
    await until("the PATCH in flight on B", inFlightOnB);
    let done = false;
    const entering = enter(adminA, 60_000).finally(() => {
      done = true;
    });
    // B has closed its window and still has the PATCH: A cannot have entered yet.
    await until("B read-only", () => readOnly(adminB));
    assert.equal(await inFlightOnB(), true);
    assert.equal(done, false, "entered while a write was in flight on B");
    held.finish();
    assert.equal(await held.answered, 202);
    const entered = await entering;
    assert.equal(entered.status, 200, entered.text);
    const body = entered.json<{
      lease: { id: string };
      replicas: { missing: string[]; inFlight: Record<string, number> };
    }>();
    assert.deepEqual(body.replicas.missing, []);
    assert.deepEqual(Object.values(body.replicas.inFlight), [0]);
    assert.equal((await request("DELETE", `${adminA}/admin/read-only/${body.lease.id}`)).status, 204);
  });

  it("Redis stopped: entering is refused with 503, writes go on", async () => {
    await redis.stop();
    try {
      const refused = await enter(adminA, 60_000);
      assert.equal(refused.status, 503, refused.text);
      assert.ok(Number(refused.headers["retry-after"]) > 0, "Retry-After");
      assert.equal(await readOnly(adminA), false);
      await pushBlob(a.url, "window/down", makeImage({ layerCount: 1 }).layers[0]!);
    } finally {
      await redis.start();
    }
  });
});
