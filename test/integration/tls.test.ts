/**
 * TLS on both sides: the proxy terminating TLS itself (listen.tlsCert/tlsKey),
 * and an https upstream (docker-registry with http.tls) reached with a private
 * CA bundle (upstream.caFile) and with a client certificate (http.tls.clientcas).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { loadConfig } from "../../src/config.js";
import { createRegistryClient } from "../../src/registry-client/client.js";
import { PLAIN } from "../../src/registry-client/credentials.js";
import { UpstreamError } from "../../src/registry-client/http.js";
import { createUpstreamTarget, registryClientOptions } from "../../src/upstream/target.js";
import { useRegistryAndProxy, withProxy } from "../helpers/fixture.js";
import { request } from "../helpers/http.js";
import {
  ALL_MANIFEST_TYPES,
  assertLayoutHolds,
  makeImage,
  pushImage,
  writeOciLayout,
} from "../helpers/oci.js";
import { requireTools } from "../helpers/prereq.js";
import { makeCa, type TestCa } from "../helpers/tls.js";

const exec = promisify(execFile);

describe("TLS", () => {
  let ca: TestCa;
  let work: string;
  /** A skopeo --cert-dir trusting the test CA (skopeo reads *.crt there as CAs). */
  let certDir: string;
  let layout: string;
  let image: ReturnType<typeof makeImage>;

  before(() => {
    requireTools("skopeo", "openssl");
    ca = makeCa();
    work = mkdtempSync(join(tmpdir(), "rcp-tls-work-"));
    certDir = join(work, "certs");
    mkdirSync(certDir);
    copyFileSync(ca.cert, join(certDir, "ca.crt"));
    image = makeImage({ layerCount: 2 });
    layout = join(work, "src");
    writeOciLayout(layout, image);
  });
  after(() => {
    ca?.cleanup();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  describe("the proxy terminating TLS in front of a plain-http registry", () => {
    let caPem: Buffer;
    const fx = useRegistryAndProxy(() => {
      const server = ca.issueServer("proxy");
      caPem = readFileSync(ca.cert);
      return { proxy: { listen: { tlsCert: server.cert, tlsKey: server.key } } };
    });

    it("serves https with the configured certificate; a client that does not trust it is refused", async () => {
      assert.ok(fx.proxy.url.startsWith("https://127.0.0.1:"));
      const res = await request("GET", `${fx.proxy.url}/v2/`, { ca: caPem });
      assert.equal(res.status, 200);
      assert.equal(res.text, "{}");
      await assert.rejects(
        request("GET", `${fx.proxy.url}/v2/`),
        /self.signed|unable to verify|certificate/i,
      );
      const plain = request("GET", fx.proxy.url.replace("https://", "http://") + "/v2/");
      await assert.rejects(plain);
    });

    it("upload Locations name the proxy's https origin", async () => {
      const res = await request("POST", `${fx.proxy.url}/v2/tls/a/blobs/uploads/`, { ca: caPem });
      assert.equal(res.status, 202);
      assert.ok((res.headers.location as string).startsWith(`${fx.proxy.url}/v2/tls/a/blobs/uploads/`));
    });

    it("skopeo pushes and pulls with TLS verification on, trusting the CA through --cert-dir", async () => {
      const host = fx.proxy.url.replace("https://", "");
      const ref = `docker://${host}/tls/skopeo:v1`;
      await exec("skopeo", ["copy", "--dest-cert-dir", certDir, `oci:${layout}:latest`, ref]);
      await exec("skopeo", ["copy", "--src-cert-dir", certDir, ref, `oci:${join(work, "back1")}:v1`]);
      assertLayoutHolds(join(work, "back1"), "v1", image);
      const inspect = await exec("skopeo", ["inspect", "--cert-dir", certDir, ref]);
      assert.equal(JSON.parse(inspect.stdout).Digest, image.manifest.digest);
      await assert.rejects(exec("skopeo", ["inspect", ref]), /certificate|x509/i);
    });
  });

  describe("an https upstream with a private CA (upstream.caFile)", () => {
    const fx = useRegistryAndProxy(() => {
      const server = ca.issueServer("registry");
      return {
        registry: { tls: { certificate: server.cert, key: server.key } },
        proxy: { upstream: { caFile: ca.cert } },
      };
    });

    it("passes requests through over verified TLS; Locations from the https upstream name the proxy", async () => {
      assert.ok(fx.registry.url.startsWith("https://"));
      const res = await request("GET", `${fx.proxy.url}/v2/`);
      assert.equal(res.status, 200);
      const digest = await pushImage(fx.proxy.url, "tlsup/raw", image, ["v1"]);
      const up = await request("POST", `${fx.proxy.url}/v2/tlsup/raw/blobs/uploads/`);
      assert.ok((up.headers.location as string).startsWith(`${fx.proxy.url}/v2/tlsup/raw/blobs/uploads/`));
      const got = await request("GET", `${fx.proxy.url}/v2/tlsup/raw/manifests/v1`, {
        headers: { accept: ALL_MANIFEST_TYPES },
      });
      assert.equal(got.headers["docker-content-digest"], digest);
      assert.deepEqual(got.body, image.manifest.bytes);
    });

    it("the proxy's own upstream client (readiness probe) uses the CA bundle too", async () => {
      const ready = await request("GET", `${fx.proxy.url}/readyz`);
      assert.equal(ready.status, 200, ready.text);
    });

    it("the proxy's own client (tags list) verifies the upstream with the CA bundle, and only with it", async () => {
      await pushImage(fx.proxy.url, "tlsup/list", image, ["a", "b"]);
      const list = await request("GET", `${fx.proxy.url}/v2/tlsup/list/tags/list?n=1`);
      assert.equal(list.status, 200, list.text);
      assert.deepEqual(list.json<{ tags: string[] }>().tags, ["a"]);
      const withoutCa = createRegistryClient(
        registryClientOptions(
          createUpstreamTarget(
            loadConfig({ env: {}, overrides: { upstream: { url: fx.registry.url } } }),
            fx.registry.url,
          ),
        ),
      );
      try {
        const e = await withoutCa
          .as(PLAIN)
          .request({ method: "GET", path: "/v2/" })
          .then(
            () => assert.fail("an untrusted upstream answered"),
            (err: unknown) => err,
          );
        assert.ok(e instanceof UpstreamError);
        assert.equal(e.kind, "reset");
        assert.match(e.message, /CERT|SIGNATURE|self.signed/i);
      } finally {
        await withoutCa.close();
      }
    });

    it("skopeo copies through the plain-http proxy to the https upstream", async () => {
      const host = fx.proxy.url.replace("http://", "");
      const ref = `docker://${host}/tlsup/skopeo:v1`;
      await exec("skopeo", ["copy", "--dest-tls-verify=false", `oci:${layout}:latest`, ref]);
      await exec("skopeo", ["copy", "--src-tls-verify=false", ref, `oci:${join(work, "back2")}:v1`]);
      assertLayoutHolds(join(work, "back2"), "v1", image);
    });

    it("without the CA bundle the upstream is not trusted: 502 UNAVAILABLE and readiness fails", async () => {
      await withProxy(fx.registry.url, {}, async (untrusting) => {
        const res = await request("GET", `${untrusting.url}/v2/`);
        assert.equal(res.status, 502);
        assert.equal(res.json<{ errors: Array<{ code: string }> }>().errors[0]!.code, "UNAVAILABLE");
        assert.equal((await request("GET", `${untrusting.url}/readyz`)).status, 503);
      });
    });
  });

  describe("an https upstream requiring a client certificate (http.tls.clientcas)", () => {
    const fx = useRegistryAndProxy(() => {
      const server = ca.issueServer("registry-mtls");
      const client = ca.issueClient("proxy-client");
      const proxyCert = ca.issueServer("proxy-front");
      return {
        registry: { tls: { certificate: server.cert, key: server.key, clientCas: [ca.cert] } },
        proxy: {
          listen: { tlsCert: proxyCert.cert, tlsKey: proxyCert.key },
          upstream: { caFile: ca.cert, clientCertFile: client.cert, clientKeyFile: client.key },
        },
      };
    });

    it("the registry refuses a client without a certificate", async () => {
      await assert.rejects(request("GET", `${fx.registry.url}/v2/`, { ca: readFileSync(ca.cert) }));
    });

    it("the proxy presents its client certificate: TLS on both sides, skopeo push and pull verified", async () => {
      const res = await request("GET", `${fx.proxy.url}/v2/`, { ca: readFileSync(ca.cert) });
      assert.equal(res.status, 200);
      assert.equal(
        (await request("GET", `${fx.proxy.url}/readyz`, { ca: readFileSync(ca.cert) })).status,
        200,
      );
      const host = fx.proxy.url.replace("https://", "");
      const ref = `docker://${host}/mtls/skopeo:v1`;
      await exec("skopeo", ["copy", "--dest-cert-dir", certDir, `oci:${layout}:latest`, ref]);
      const inspect = await exec("skopeo", ["inspect", "--cert-dir", certDir, ref]);
      assert.equal(JSON.parse(inspect.stdout).Digest, image.manifest.digest);
    });

    it("without the client certificate the upstream handshake fails: 502 UNAVAILABLE", async () => {
      await withProxy(fx.registry.url, { upstream: { caFile: ca.cert } }, async (noCert) => {
        const res = await request("GET", `${noCert.url}/v2/`);
        assert.equal(res.status, 502);
      });
    });
  });
});
