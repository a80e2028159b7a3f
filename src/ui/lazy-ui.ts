/**
 * The web UI as app.ts mounts it: its code (pages, handlers, caches, assets) is
 * loaded on the first `/ui/...` request, not at start-up. A proxy that serves only
 * registry clients never reads it, and its live heap, which sets how far the old
 * generation grows between full collections (src/ops/heap-tuning.ts), stays
 * without it. The first request waits for the import (a few milliseconds); a
 * failed import answers that request with the app's error and is tried again on
 * the next one.
 */
import { Hono } from "hono";
import type { AppDeps, AppEnv } from "../deps.js";

export function lazyUiApp(deps: AppDeps, prefix: string): Hono<AppEnv> {
  let loading: Promise<Hono<AppEnv>> | undefined;
  const load = (): Promise<Hono<AppEnv>> => {
    loading ??= import("./ui-app.js").then(
      ({ createUiApp }) => new Hono<AppEnv>().route(prefix, createUiApp(deps)),
      (err: unknown) => {
        loading = undefined;
        throw err;
      },
    );
    return loading;
  };
  const ui = new Hono<AppEnv>();
  ui.all("*", async (c) => (await load()).fetch(c.req.raw, c.env));
  return ui;
}
