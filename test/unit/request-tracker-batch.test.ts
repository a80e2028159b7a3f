/**
 * The request tracker moves finished requests into the metrics in small batches:
 * every FLUSH_EVERY requests (32) without waiting for a scrape, so that no record
 * lives long enough to be promoted to the old generation in a busy proxy (the batch
 * of 512 grew Node 20's old generation by 16 MiB in 4 s of cached tag lists), and
 * at every scrape.
 */
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { createAccessLog, createLogger } from "../../src/ops/logger.js";
import { createMetrics, renderMetrics } from "../../src/ops/metrics.js";
import { createRequestTracker, FLUSH_EVERY, TrackedResponse } from "../../src/ops/request-tracker.js";
import { request } from "../helpers/http.js";

async function counted(metrics: ReturnType<typeof createMetrics>): Promise<number> {
  const { values } = await metrics.requests.get();
  return values.reduce((n, v) => n + v.value, 0);
}

describe("request metrics, batched", () => {
  it(`GET requests are counted every ${FLUSH_EVERY} without a scrape, the rest at the scrape`, async () => {
    assert.ok(FLUSH_EVERY <= 64, `batches of ${FLUSH_EVERY} records live long enough to be promoted`);
    const metrics = createMetrics({ defaultMetrics: false });
    const tracker = createRequestTracker({ metrics, access: createAccessLog(createLogger("silent")) });
    const server = http.createServer({ ServerResponse: TrackedResponse }, (req, res) => {
      tracker.begin(req, res, req.url ?? "/");
      res.end("{}");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/x/tags/list`;
      const total = 2 * FLUSH_EVERY + 5;
      for (let i = 0; i < total; i++) await request("GET", url);
      // The last response's close may follow its body by a tick.
      await new Promise((r) => setImmediate(r));
      // Read the counter without the scrape's flush (prom-client's get() runs the collectors).
      const collectors = [...metrics.beforeCollect];
      metrics.beforeCollect.clear();
      assert.equal(await counted(metrics), 2 * FLUSH_EVERY, "two full batches, without a scrape");
      for (const f of collectors) metrics.beforeCollect.add(f);
      const { body } = await renderMetrics(metrics);
      assert.match(
        body,
        new RegExp(`^rcp_requests_total\\{[^}]*\\} ${total}$`, "m"),
        "the scrape adds the rest",
      );
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
