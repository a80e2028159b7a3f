/**
 * A real browser for the UI tests: Debian's chromium, headless, driven by
 * playwright-core (which never downloads a browser). Playwright gives every
 * launch a fresh temporary profile (--user-data-dir) and removes it on close.
 * The machine's network is closed: every background feature that would call
 * out is off, and a page's requests are recorded so tests can assert that none
 * left the proxy's origin.
 */
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { requireTools } from "./prereq.js";

export const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";

const FLAGS = [
  // Root (CI, containers) needs it; the pages are our own.
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-default-apps",
  "--disable-extensions",
];

export async function launchChromium(): Promise<Browser> {
  requireTools("chromium");
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
}

/** What a page did: every request it made, console errors, page errors, dialogs it opened. */
export interface PageRecord {
  requests: string[];
  consoleErrors: string[];
  pageErrors: string[];
  dialogs: string[];
}

export async function newPage(
  browser: Browser,
  options: { javaScript?: boolean; credentials?: { username: string; password: string } } = {},
): Promise<{ context: BrowserContext; page: Page; record: PageRecord }> {
  const context = await browser.newContext({
    javaScriptEnabled: options.javaScript ?? true,
    ...(options.credentials ? { httpCredentials: options.credentials } : {}),
  });
  const page = await context.newPage();
  const record: PageRecord = { requests: [], consoleErrors: [], pageErrors: [], dialogs: [] };
  page.on("request", (r) => record.requests.push(r.url()));
  page.on("console", (m) => {
    if (m.type() === "error") record.consoleErrors.push(m.text());
  });
  page.on("pageerror", (e) => record.pageErrors.push(e.message));
  page.on("dialog", (d) => {
    record.dialogs.push(d.message());
    void d.dismiss();
  });
  return { context, page, record };
}
