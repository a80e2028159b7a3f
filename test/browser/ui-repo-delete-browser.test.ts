/**
 * The web UI's repository delete in a real browser (Debian's chromium, headless,
 * playwright-core) in front of docker-registry 2.8.2: from the repository's page
 * to the confirmation naming it and its tag count, then the form's POST; the
 * registry keeps no tag, every request stays on the proxy's origin, no console error.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser } from "playwright-core";
import { launchChromium, newPage } from "../helpers/browser.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { tagsOf } from "../helpers/tag-delete.js";
import { seed } from "../helpers/tags.js";

describe("web UI repository delete in chromium", () => {
  let registry: TestRegistry;
  let proxy: TestProxy;
  let browser: Browser;
  before(async () => {
    registry = await startRegistry();
    proxy = await startProxy(registry.url, { log: { level: "warn" } });
    await seed(registry.url, "shop/gone", ["1.0", "2.0", "latest"]);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await proxy?.stop();
    await registry?.stop();
  });

  for (const javaScript of [true, false]) {
    it(`deletes a repository after its confirmation (JavaScript ${javaScript ? "on" : "off"})`, async () => {
      const repo = javaScript ? "shop/gone" : "shop/gone-nojs";
      if (!javaScript) await seed(registry.url, repo, ["a"]);
      const { context, page, record } = await newPage(browser, { javaScript });
      try {
        await page.goto(`${proxy.url}/ui/r/${repo}`);
        await page.getByTestId("delete-repository-link").click();
        await page.waitForURL(`${proxy.url}/ui/r/${repo}/_delete`);
        const count = await page.getByTestId("repo-tag-count").getAttribute("data-count");
        assert.equal(count, javaScript ? "3" : "1");
        assert.equal(await page.locator("h1").textContent(), `Delete repository ${repo}?`);
        await page.getByTestId("confirm-repo-delete").click();
        await page.getByTestId("message").waitFor();
        assert.equal(await page.getByTestId("message").getAttribute("data-reason"), "deleted");
        assert.deepEqual(await tagsOf(registry.url, repo), []);
        const outside = record.requests.filter((u) => new URL(u).origin !== new URL(proxy.url).origin);
        assert.deepEqual(outside, []);
        assert.deepEqual(record.pageErrors, []);
        assert.deepEqual(record.consoleErrors, []);
      } finally {
        await context.close();
      }
    });
  }
});
