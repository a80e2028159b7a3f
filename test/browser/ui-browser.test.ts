/**
 * The web UI in a real browser (Debian's chromium, headless, playwright-core)
 * in front of docker-registry 2.8.2: browsing, deleting one tag in the dialog
 * and, with JavaScript off, on the confirmation page (the sibling survives
 * upstream each time), a deleted tag found in its history and put back in the
 * dialog (skopeo pulls it again), hostile annotations that run nothing, and htpasswd:
 * refused without credentials, everything with them. Every page's requests stay
 * on the proxy's origin, and no console error is logged (a CSP violation would
 * be one).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import type { Browser, Page } from "playwright-core";
import { launchChromium, newPage, type PageRecord } from "../helpers/browser.js";
import { createHtpasswd, type Htpasswd } from "../helpers/htpasswd.js";
import { request } from "../helpers/http.js";
import { ALL_MANIFEST_TYPES, makeImage, pushImage } from "../helpers/oci.js";
import { requireTools } from "../helpers/prereq.js";
import { startProxy, type TestProxy } from "../helpers/proxy.js";
import { startRegistry, type TestRegistry } from "../helpers/registry.js";
import { hostileImage } from "../helpers/ui.js";

const exec = promisify(execFile);

async function upstreamStatus(registry: string, repo: string, tag: string, auth?: string): Promise<number> {
  const headers: Record<string, string> = { accept: ALL_MANIFEST_TYPES };
  if (auth) headers["authorization"] = auth;
  return (await request("HEAD", `${registry}/v2/${repo}/manifests/${tag}`, { headers })).status;
}

function rowTags(page: Page): Promise<string[]> {
  return page
    .locator('[data-testid="tag-row"]')
    .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-tag") ?? ""));
}

/** Nothing left the proxy's origin, and the page logged no error. */
function assertClean(record: PageRecord, origin: string, allowConsole: RegExp | null = null): void {
  const outside = record.requests.filter((u) => new URL(u).origin !== origin);
  assert.deepEqual(outside, [], "every request on the proxy's origin");
  assert.deepEqual(record.pageErrors, []);
  const errors = record.consoleErrors.filter((e) => allowConsole === null || !allowConsole.test(e));
  assert.deepEqual(errors, [], "no console error");
  assert.deepEqual(record.dialogs, [], "no alert, confirm or prompt");
}

describe("web UI in chromium (open registry)", () => {
  let registry: TestRegistry;
  let proxy: TestProxy;
  let browser: Browser;
  const image = makeImage();
  const hostile = hostileImage();

  before(async () => {
    registry = await startRegistry();
    proxy = await startProxy(registry.url, { log: { level: "warn" } });
    await pushImage(proxy.url, "shop/web", image, ["latest", "v1", "v2", "js-off"]);
    await pushImage(proxy.url, "shop/web", hostile, ["hostile"]);
    await pushImage(proxy.url, "shop/api", makeImage({ layerCount: 1 }), ["latest"]);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await proxy?.stop();
    await registry?.stop();
  });

  it("browses from / to the repositories, a repository's tags and a tag's page", async () => {
    const { context, page, record } = await newPage(browser);
    try {
      await page.goto(`${proxy.url}/`);
      assert.equal(new URL(page.url()).pathname, "/ui/");
      const repos = await page
        .locator('[data-testid="repository-row"]')
        .evaluateAll((els) => els.map((e) => e.getAttribute("data-repository")));
      assert.deepEqual(repos, ["shop/api", "shop/web"]);
      await page.getByRole("link", { name: "shop/web" }).click();
      await page.waitForURL(`${proxy.url}/ui/r/shop/web`);
      assert.deepEqual(await rowTags(page), ["hostile", "js-off", "latest", "v1", "v2"]);
      await page.locator('[data-testid="tag-row"][data-tag="latest"] a').first().click();
      await page.waitForURL(`${proxy.url}/ui/r/shop/web/_tags/latest`);
      const pull = await page.locator('[data-testid="pull-command"]').first().inputValue();
      assert.equal(pull, `docker pull ${proxy.url.replace("http://", "")}/shop/web:latest`);
      assert.equal(
        await page.getByRole("button", { name: "Copy" }).first().isVisible(),
        true,
        "the script ran",
      );
      await page.goBack();
      assert.deepEqual(await rowTags(page), ["hostile", "js-off", "latest", "v1", "v2"]);
      assertClean(record, proxy.url);
    } finally {
      await context.close();
    }
  });

  it("deletes one tag in the confirmation dialog; its siblings survive upstream", async () => {
    const { context, page, record } = await newPage(browser);
    try {
      await page.goto(`${proxy.url}/ui/r/shop/web`);
      await page.locator('[data-testid="tag-row"][data-tag="v1"] [data-testid="delete-tag"]').click();
      const confirm = page.locator('dialog [data-testid="confirm-delete"]');
      await confirm.waitFor({ state: "visible" });
      const siblings = await page
        .locator('dialog [data-testid="sibling"]')
        .evaluateAll((els) => els.map((e) => e.getAttribute("data-tag")));
      assert.deepEqual(siblings, ["js-off", "latest", "v2"]);
      assert.equal(new URL(page.url()).pathname, "/ui/r/shop/web", "a dialog, not another page");
      await confirm.click();
      await page.waitForURL(`${proxy.url}/ui/r/shop/web?deleted=v1`);
      assert.equal(await page.locator('[data-testid="deleted-notice"]').isVisible(), true);
      assert.deepEqual(await rowTags(page), ["hostile", "js-off", "latest", "v2"]);
      assert.equal(await upstreamStatus(registry.url, "shop/web", "v1"), 404, "v1 gone upstream");
      for (const tag of ["latest", "v2", "js-off"]) {
        assert.equal(await upstreamStatus(registry.url, "shop/web", tag), 200, `${tag} survives`);
      }
      assertClean(record, proxy.url);
    } finally {
      await context.close();
    }
  });

  it("with JavaScript off, browsing and the delete work through the confirmation page", async () => {
    const { context, page, record } = await newPage(browser, { javaScript: false });
    try {
      await page.goto(`${proxy.url}/ui/r/shop/web`);
      await page.locator('[data-testid="tag-row"][data-tag="js-off"] [data-testid="delete-tag"]').click();
      await page.waitForURL(`${proxy.url}/ui/r/shop/web/_tags/js-off/_delete`);
      assert.equal(await page.getByRole("button", { name: "Copy" }).count(), 0);
      await page.locator('[data-testid="confirm-delete"]').click();
      await page.waitForURL(`${proxy.url}/ui/r/shop/web?deleted=js-off`);
      assert.deepEqual(await rowTags(page), ["hostile", "latest", "v2"]);
      assert.equal(await upstreamStatus(registry.url, "shop/web", "js-off"), 404);
      assert.equal(await upstreamStatus(registry.url, "shop/web", "latest"), 200);
      assertClean(record, proxy.url);
    } finally {
      await context.close();
    }
  });

  it("a tag deleted in the dialog is found in its history and put back in the dialog; skopeo pulls it again", async () => {
    const kept = makeImage({ layerCount: 1 });
    await pushImage(proxy.url, "shop/hist", kept, ["gone", "stays"]);
    const digest = kept.manifest.digest;
    const { context, page, record } = await newPage(browser);
    try {
      await page.goto(`${proxy.url}/ui/r/shop/hist`);
      await page.locator('[data-testid="tag-row"][data-tag="gone"] [data-testid="delete-tag"]').click();
      await page.locator('dialog [data-testid="confirm-delete"]').click();
      await page.waitForURL(`${proxy.url}/ui/r/shop/hist?deleted=gone`);
      assert.equal(await upstreamStatus(registry.url, "shop/hist", "gone"), 404, "deleted upstream");
      await page.locator('[data-testid="deleted-history-link"]').click();
      await page.waitForURL(`${proxy.url}/ui/r/shop/hist/_tags/gone`);
      const rows = await page
        .locator('[data-testid="history-row"]')
        .evaluateAll((els) => els.map((e) => [e.getAttribute("data-change"), e.getAttribute("data-digest")]));
      assert.deepEqual(rows, [
        ["deleted", digest],
        ["created", digest],
      ]);
      await page
        .locator('[data-testid="history-row"][data-change="deleted"] [data-testid="undelete-tag"]')
        .click();
      const confirm = page.locator('dialog [data-testid="confirm-undelete"]');
      await confirm.waitFor({ state: "visible" });
      assert.equal(new URL(page.url()).pathname, "/ui/r/shop/hist/_tags/gone", "a dialog, not another page");
      await confirm.click();
      await page.waitForURL(`${proxy.url}/ui/r/shop/hist/_tags/gone?undeleted=${encodeURIComponent(digest)}`);
      assert.equal(await page.locator('[data-testid="undeleted-notice"]').isVisible(), true);
      assert.equal(await page.locator('[data-testid="tag-digest"]').textContent(), digest);
      assertClean(record, proxy.url, /status of 404/);
    } finally {
      await context.close();
    }
    requireTools("skopeo");
    const host = new URL(proxy.url).host;
    const raw = await exec("skopeo", [
      "inspect",
      "--raw",
      "--tls-verify=false",
      `docker://${host}/shop/hist:gone`,
    ]);
    assert.equal(
      `sha256:${createHash("sha256").update(raw.stdout).digest("hex")}`,
      digest,
      "skopeo reads it back",
    );
    assert.equal(await upstreamStatus(registry.url, "shop/hist", "stays"), 200, "the sibling untouched");
  });

  it("hostile annotations and labels are shown as text and run nothing", async () => {
    const { context, page, record } = await newPage(browser);
    try {
      await page.goto(`${proxy.url}/ui/r/shop/web/_tags/hostile`);
      const cells = await page.locator('[data-testid="annotations"] td').allTextContents();
      assert.ok(cells.includes("<script>alert('x')</script>"), cells.join(" | "));
      assert.ok(cells.includes('"><img src=x onerror=alert(1)>'));
      assert.equal(await page.locator("h1", { hasText: "owned" }).count(), 0);
      assert.equal(await page.locator("main img").count(), 0);
      await page.locator("details.config summary").click();
      assert.match((await page.locator('[data-testid="config"]').textContent()) ?? "", /onerror=alert/);
      assertClean(record, proxy.url);
    } finally {
      await context.close();
    }
  });
});

describe("web UI in chromium behind htpasswd", () => {
  let htpasswd: Htpasswd;
  let registry: TestRegistry;
  let proxy: TestProxy;
  let browser: Browser;
  const image = makeImage();

  before(async () => {
    htpasswd = createHtpasswd({ alice: "alice-pw" });
    registry = await startRegistry({ htpasswdFile: htpasswd.file });
    proxy = await startProxy(registry.url, { log: { level: "warn" } });
    await pushImage(proxy.url, "priv/app", image, ["keep", "drop"], htpasswd.basic("alice"));
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await proxy?.stop();
    await registry?.stop();
    htpasswd?.cleanup();
  });

  it("without credentials, or with a wrong password, the browser is refused (401) and shown nothing", async () => {
    for (const credentials of [undefined, { username: "alice", password: "wrong" }]) {
      const { context, page, record } = await newPage(browser, credentials ? { credentials } : {});
      try {
        const answered = page.waitForResponse(`${proxy.url}/ui/r/priv/app`);
        // The browser's prompt, cancelled (headless), ends the navigation, or the 401 page is shown.
        const nav = await page.goto(`${proxy.url}/ui/r/priv/app`).catch((err: Error) => err);
        if (nav instanceof Error) assert.match(nav.message, /ERR_INVALID_AUTH_CREDENTIALS/);
        else assert.equal(nav?.status(), 401);
        const res = await answered;
        assert.equal(res.status(), 401);
        assert.equal(
          res.headers()["www-authenticate"],
          'Basic realm="registry-compat-proxy", charset="UTF-8"',
        );
        const body = await res.text();
        assert.doesNotMatch(
          body,
          /data-testid="tag-row"|keep|drop|sha256:/,
          "nothing of the repository shown",
        );
        assert.equal(await upstreamStatus(registry.url, "priv/app", "drop", htpasswd.basic("alice")), 200);
        assertClean(record, proxy.url, /status of 401/);
      } finally {
        await context.close();
      }
    }
  });

  it("with the registry login the visitor browses and deletes one tag; the sibling survives", async () => {
    const { context, page, record } = await newPage(browser, {
      credentials: { username: "alice", password: "alice-pw" },
    });
    try {
      await page.goto(`${proxy.url}/ui/`);
      await page.getByRole("link", { name: "priv/app" }).click();
      await page.waitForURL(`${proxy.url}/ui/r/priv/app`);
      assert.deepEqual(await rowTags(page), ["drop", "keep"]);
      await page.locator('[data-testid="tag-row"][data-tag="drop"] [data-testid="delete-tag"]').click();
      await page.locator('dialog [data-testid="confirm-delete"]').click();
      await page.waitForURL(`${proxy.url}/ui/r/priv/app?deleted=drop`);
      const alice = htpasswd.basic("alice");
      assert.equal(await upstreamStatus(registry.url, "priv/app", "drop", alice), 404);
      assert.equal(await upstreamStatus(registry.url, "priv/app", "keep", alice), 200);
      assertClean(record, proxy.url, /status of 401/);
    } finally {
      await context.close();
    }
  });
});
