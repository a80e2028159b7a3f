/**
 * The web UI, a Hono sub-app mounted at `/ui` (app.ts) when `ui.enabled`.
 *
 * Security, for every answer: a strict Content-Security-Policy (only this
 * origin's script, style and images; no inline script or style, no frames, forms
 * post only here) with the other secure headers; pages never cached (they show
 * what one visitor may see). Every state-changing request is a form POST that
 * must come from this origin (hono/csrf: Origin or Sec-Fetch-Site), carry a form
 * body, and stay small. The UI holds no credentials: it acts as the visitor
 * (visitor.ts), and the registry decides.
 */
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { csrf } from "hono/csrf";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import type { AppDeps, AppEnv } from "../deps.js";
import { callerOrigin } from "../upstream/caller-headers.js";
import { askForCredentials } from "./answers.js";
import { assetResponse, loadAssets } from "./assets.js";
import {
  confirmUndeletePage,
  repositoryHistoryPage,
  tagHistoryPage,
  undeleteTag,
} from "./history-handlers.js";
import {
  confirmDeletePage,
  deleteTag,
  openRepository,
  readerOf,
  repositoriesPage,
  repositoryPage,
  tagPage,
} from "./page-handlers.js";
import { renderer } from "./pages/layout.js";
import { MessagePage } from "./pages/message.js";
import { parseUiPath, UI_ROOT } from "./paths.js";
import { confirmRepoDeletePage, deleteRepositoryForm } from "./repo-delete-handlers.js";
import { createUiCaches } from "./ui-caches.js";
import { visitorOf } from "./visitor.js";

/** The Content-Security-Policy of every UI answer. */
export const UI_CSP = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'"],
  connectSrc: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  baseUri: ["'none'"],
};

/** The largest form the UI accepts (a delete or undelete form is a digest or two). */
const MAX_FORM_BYTES = 4096;

/** The UI of one proxy (created once, by createApp), with its caches and assets. */
export function createUiApp(deps: AppDeps): Hono<AppEnv> {
  const ui = new Hono<AppEnv>();
  const assets = loadAssets(undefined, (err) =>
    deps.logger.warn(
      { err: err.message },
      "ui: no assets beside the compiled code (build with npm run build)",
    ),
  );
  const caches = createUiCaches({ changes: deps.changes });

  ui.use(
    secureHeaders({
      contentSecurityPolicy: UI_CSP,
      xFrameOptions: "DENY",
      // HSTS is the TLS edge's decision (the proxy may be served over plain HTTP on a private network).
      strictTransportSecurity: false,
      referrerPolicy: "no-referrer",
      crossOriginResourcePolicy: "same-origin",
      crossOriginOpenerPolicy: "same-origin",
    }),
  );
  ui.use(
    csrf({
      // The origin the visitor used: the configured public URL, or Host (and the forwarding headers when trusted).
      origin: (origin, c) => origin === callerOrigin(c.env.incoming, deps.caller),
    }),
  );
  ui.use(async (c, next) => {
    await next();
    if (!c.res.headers.has("cache-control")) c.header("cache-control", "no-store");
  });
  ui.use(renderer);
  ui.use(
    bodyLimit({
      maxSize: MAX_FORM_BYTES,
      onError: (c) => notFound(c, visitorOf(c.req.header("authorization")).user, 413),
    }),
  );

  ui.get("/assets/:file", (c) => {
    const asset = assets.get(c.req.param("file"));
    if (asset === undefined) return c.text("not found\n", 404);
    return assetResponse(asset, c.req.header("if-none-match"));
  });

  ui.get("/_login", (c) => {
    const visitor = visitorOf(c.req.header("authorization"));
    if (visitor.user === null) return askForCredentials(c, visitor, "Sign in with your registry login.");
    return c.redirect(UI_ROOT, 303);
  });

  ui.on(["GET", "POST"], "/*", async (c) => {
    const page = parseUiPath(c.req.path);
    const r = readerOf(c, deps, caches);
    const post = c.req.method === "POST";
    const forms = ["delete-tag", "undelete-tag", "delete-repository"];
    if (post && !forms.includes(page?.kind ?? "")) {
      return notFound(c, r.visitor.user, 405);
    }
    if (post && !/^application\/x-www-form-urlencoded\b/i.test(c.req.header("content-type") ?? "")) {
      return notFound(c, r.visitor.user, 415);
    }
    switch (page?.kind) {
      case "repositories":
        return repositoriesPage(c, r);
      case "open":
        return openRepository(c, r);
      case "repository":
        return repositoryPage(c, r, page.name);
      case "tag":
        return tagPage(c, r, page.name, page.tag);
      case "delete-tag":
        return post ? deleteTag(c, r, page.name, page.tag) : confirmDeletePage(c, r, page.name, page.tag);
      case "tag-history":
        return tagHistoryPage(c, r, page.name, page.tag);
      case "undelete-tag":
        return post ? undeleteTag(c, r, page.name, page.tag) : confirmUndeletePage(c, r, page.name, page.tag);
      case "repository-history":
        return repositoryHistoryPage(c, r, page.name);
      case "delete-repository":
        return post ? deleteRepositoryForm(c, r, page.name) : confirmRepoDeletePage(c, r, page.name);
      default:
        return notFound(c, r.visitor.user, 404);
    }
  });

  ui.onError((err, c) => {
    const user = visitorOf(c.req.header("authorization")).user;
    if (err instanceof HTTPException && err.status === 403) {
      c.status(403);
      return c.render(
        <MessagePage
          heading="Refused"
          text="This request did not come from this site's own pages (cross-site request refused). Nothing was changed."
        />,
        { title: "Refused", user },
      );
    }
    if (err instanceof HTTPException) return err.getResponse();
    deps.logger.error({ err, method: c.req.method, path: c.req.path }, "ui: page failed");
    c.status(500);
    return c.render(
      <MessagePage heading="Something went wrong" text="The proxy could not show this page." />,
      {
        title: "Error",
        user,
      },
    );
  });
  return ui;
}

const NOT_HERE = {
  404: "There is no such page.",
  405: "This page takes no form.",
  413: "The form is too large.",
  415: "Only forms are accepted here.",
} as const;

function notFound(c: Context<AppEnv>, user: string | null, status: keyof typeof NOT_HERE) {
  c.status(status);
  const text = NOT_HERE[status];
  return c.render(<MessagePage heading="Not here" text={text} />, { title: "Not here", user });
}
