import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { useRegistryAndProxy } from "../helpers/fixture.js";
import { request } from "../helpers/http.js";
import { closedPort } from "../helpers/net.js";
import { MT, makeImage, pushImage } from "../helpers/oci.js";
import { hasFamily, parseMetrics, sampleValue } from "../helpers/prometheus.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";

describe("GET /metrics after passthrough traffic to a real docker-registry 2.8", () => {
  const fx = useRegistryAndProxy();

  it("counts requests by route, method and status class, durations, bytes each way and in-flight", async () => {
    const image = makeImage({ layerCount: 1, layerSize: 200_000 });
    const layer = image.layers[0]!;
    const secret = "Basic c2VjcmV0LXVzZXI6aHVudGVyMg==";
    await pushImage(fx.proxy.url, "metrics/app", image, ["v1"], secret);
    const manifest = await request("GET", `${fx.proxy.url}/v2/metrics/app/manifests/v1`, {
      headers: { accept: MT.ociManifest },
    });
    assert.equal(manifest.status, 200);
    const blob = await request("GET", `${fx.proxy.url}/v2/metrics/app/blobs/${layer.digest}`);
    assert.equal(blob.status, 200);
    const missing = await request("GET", `${fx.proxy.url}/v2/metrics/app/manifests/missing`);
    assert.equal(missing.status, 404);
    const unknownMethod = await request("PROPFIND", `${fx.proxy.url}/v2/`);
    assert.equal(unknownMethod.status, 405);

    const res = await request("GET", `${fx.proxy.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers["content-type"] as string, /^text\/plain; version=0\.0\.4/);
    const s = parseMetrics(res.text);
    const requests = (route: string, method: string, status: string) =>
      sampleValue(s, "rcp_requests_total", { route, method, status });
    assert.equal(requests("upload-start", "POST", "2xx"), 2);
    assert.equal(requests("upload", "PUT", "2xx"), 2);
    assert.equal(requests("manifest", "PUT", "2xx"), 1);
    assert.equal(requests("manifest", "GET", "2xx"), 1);
    assert.equal(requests("manifest", "GET", "4xx"), 1);
    assert.equal(requests("blob", "GET", "2xx"), 1);
    assert.equal(requests("invalid", "other", "4xx"), 1);
    assert.equal(sampleValue(s, "rcp_request_duration_seconds_count", { route: "blob", method: "GET" }), 1);
    const blobSeconds = sampleValue(s, "rcp_request_duration_seconds_sum", { route: "blob", method: "GET" });
    assert.ok(blobSeconds !== undefined && blobSeconds > 0 && blobSeconds < 60, String(blobSeconds));

    const pushed = layer.size + image.config.size + image.manifest.size;
    const bytesIn = sampleValue(s, "rcp_proxied_bytes_total", { direction: "in" }) ?? 0;
    const bytesOut = sampleValue(s, "rcp_proxied_bytes_total", { direction: "out" }) ?? 0;
    assert.ok(bytesIn >= pushed && bytesIn < pushed + 20_000, `in: ${bytesIn}, pushed ${pushed}`);
    assert.ok(
      bytesOut >= layer.size && bytesOut < layer.size + 20_000,
      `out: ${bytesOut}, layer ${layer.size}`,
    );
    // The scrape itself is the one request in flight.
    assert.equal(sampleValue(s, "rcp_requests_in_flight"), 1);

    for (const family of [
      "rcp_tag_deletes_total",
      "rcp_tag_restore_failures_total",
      "rcp_upstream_errors_total",
      "rcp_cache_lookups_total",
      "rcp_process_cpu_seconds_total",
    ]) {
      assert.ok(hasFamily(res.text, family), `missing family ${family}`);
    }
    // No credentials and no repository names in labels by default.
    assert.doesNotMatch(res.text, /c2VjcmV0|hunter2|metrics\/app/);
  });
});

describe("GET /metrics with an unreachable upstream", () => {
  let proxy: TestProxy;

  before(async () => {
    proxy = await startProxy(`http://127.0.0.1:${await closedPort()}`);
  });
  after(async () => {
    await proxy?.stop();
  });

  it("counts the passthrough's upstream errors by kind and the 503 it answered", async () => {
    const res = await request("GET", `${proxy.url}/v2/`);
    assert.equal(res.status, 503);
    const s = parseMetrics((await request("GET", `${proxy.url}/metrics`)).text);
    assert.equal(sampleValue(s, "rcp_upstream_errors_total", { kind: "unreachable" }), 1);
    assert.equal(sampleValue(s, "rcp_requests_total", { route: "base", method: "GET", status: "5xx" }), 1);
  });

  it("counts the proxy's own failed upstream calls (the readiness probe)", async () => {
    const ready = await request("GET", `${proxy.url}/readyz`);
    assert.equal(ready.status, 503);
    const s = parseMetrics((await request("GET", `${proxy.url}/metrics`)).text);
    assert.equal(sampleValue(s, "rcp_upstream_errors_total", { kind: "unreachable" }), 2);
    assert.equal(sampleValue(s, "rcp_requests_total", { route: "ops", method: "GET", status: "5xx" }), 1);
  });

  it("counts a failed tags list once, and answers it from the same map as the passthrough (503 unreachable)", async () => {
    const res = await request("GET", `${proxy.url}/v2/some/repo/tags/list`);
    assert.equal(res.status, 503);
    assert.deepEqual(res.json<{ errors: unknown[] }>().errors[0], {
      code: "UNAVAILABLE",
      message: "upstream registry unreachable",
      detail: { reason: "unreachable" },
    });
    const s = parseMetrics((await request("GET", `${proxy.url}/metrics`)).text);
    assert.equal(sampleValue(s, "rcp_upstream_errors_total", { kind: "unreachable" }), 3);
  });
});

describe("metrics on a separate admin port, with repository labels", () => {
  const fx = useRegistryAndProxy({ proxy: { metrics: { port: 0, repositoryLabel: true } } });

  it("GET /metrics on the admin port answers 200 with repository labels; the main port answers 404", async () => {
    await request("GET", `${fx.proxy.url}/v2/labelled/repo/manifests/missing`);
    const adminUrl = fx.proxy.proxy.metricsUrl();
    assert.ok(adminUrl && adminUrl !== fx.proxy.url, String(adminUrl));
    const res = await request("GET", `${adminUrl}/metrics`);
    assert.equal(res.status, 200);
    const s = parseMetrics(res.text);
    assert.equal(
      sampleValue(s, "rcp_requests_total", {
        route: "manifest",
        method: "GET",
        status: "4xx",
        repository: "labelled/repo",
      }),
      1,
    );
    assert.equal((await request("GET", `${fx.proxy.url}/metrics`)).status, 404);
    assert.equal((await request("GET", `${adminUrl}/other`)).status, 404);
  });
});
