/**
 * The screenshots of docs/ui.md, made the way a visitor sees the pages: a
 * registry and a proxy started here, a small demo pushed over plain HTTP, and
 * chromium (headless, playwright-core) taking each page.
 *
 *   npx tsx bench/ui-screenshots.ts [--out docs/images]
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { makeArtifact, pushEmptyBlob } from "../test/helpers/artifacts.js";
import { launchChromium } from "../test/helpers/browser.js";
import { request } from "../test/helpers/http.js";
import { MT, makeImage, makeIndex, pushImage, putManifest } from "../test/helpers/oci.js";
import { startProxy } from "../test/helpers/proxy.js";
import { startRegistry } from "../test/helpers/registry.js";
import { option } from "./lib/args.js";

const OUT = option("--out", "docs/images");

async function seedDemo(base: string): Promise<void> {
  const app = makeImage({ layerCount: 3, layerSize: 300_000 });
  await pushImage(base, "demo/app", app, ["1.4.2", "1.4", "latest", "stable"]);
  await pushImage(base, "demo/app", makeImage({ layerCount: 3, layerSize: 250_000 }), ["1.3.9"]);
  const [amd, arm] = [makeImage({ layerSize: 200_000 }), makeImage({ layerSize: 180_000 })];
  await pushImage(base, "demo/app", amd, [amd.manifest.digest]);
  await pushImage(base, "demo/app", arm, [arm.manifest.digest]);
  const index = makeIndex([amd, arm]);
  await putManifest(base, "demo/app", "2.0.0-rc1", index.bytes, MT.ociIndex);
  await pushImage(base, "demo/app", makeImage(), ["release-1.0"]);
  await pushEmptyBlob(base, "demo/app");
  const subject = { mediaType: app.mediaType, digest: app.manifest.digest, size: app.manifest.size };
  for (const artifactType of ["application/spdx+json", "application/vnd.dev.cosign.simplesigning.v1+json"]) {
    const a = makeArtifact(subject, {
      artifactType,
      annotations: { "org.opencontainers.image.created": "2026-03-01T10:00:00Z" },
    });
    await putManifest(base, "demo/app", a.digest, a.bytes, a.mediaType);
  }
  for (const repo of ["demo/api", "demo/worker", "infra/nginx", "infra/redis", "tools/ci-runner"]) {
    await pushImage(base, repo, makeImage({ layerCount: 1 }), ["latest"]);
  }
  // History: 1.3.9 pushed over once, then deleted (its page shows both, to put back).
  await pushImage(base, "demo/app", makeImage({ layerCount: 2, layerSize: 260_000 }), ["1.3.9"]);
  const del = await request("DELETE", `${base}/v2/demo/app/tags/1.3.9`);
  if (del.status !== 202) throw new Error(`DELETE demo/app:1.3.9: ${del.status}`);
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const registry = await startRegistry();
  const proxy = await startProxy(registry.url, {
    log: { level: "warn" },
    tags: { immutable: ["demo/app:release-*"] },
  });
  const browser = await launchChromium();
  try {
    await seedDemo(proxy.url);
    const context = await browser.newContext({ viewport: { width: 1180, height: 720 } });
    const page = await context.newPage();
    const shots: Array<[string, string, (() => Promise<void>) | null]> = [
      ["ui-repositories.png", "/ui/", null],
      ["ui-tags.png", "/ui/r/demo/app", null],
      ["ui-tag.png", "/ui/r/demo/app/_tags/latest", null],
      ["ui-tag-history.png", "/ui/r/demo/app/_tags/1.3.9", null],
      [
        "ui-confirm-delete.png",
        "/ui/r/demo/app",
        async () => {
          await page.locator('[data-testid="tag-row"][data-tag="1.4"] [data-testid="delete-tag"]').click();
          await page.locator('dialog [data-testid="confirm-delete"]').waitFor({ state: "visible" });
        },
      ],
    ];
    for (const [file, path, act] of shots) {
      await page.goto(`${proxy.url}${path}`);
      if (act) await act();
      await page.screenshot({ path: join(OUT, file), fullPage: act === null });
      console.log(`${join(OUT, file)}`);
    }
    await context.close();
  } finally {
    await browser.close();
    await proxy.stop();
    await registry.stop();
  }
}

await main();
