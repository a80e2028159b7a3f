/**
 * The tag history's admin endpoints, a Hono app served on the admin listener
 * (behind the admin token, like the read-only window), for the CLI, gc and the web UI:
 *
 *   GET    /admin/history                              repositories with entries
 *   GET    /admin/history/_held                        the manifests the window holds (gc's roots)
 *   GET    /admin/history/<name>[?limit=N]             a repository's recent changes, newest first
 *   GET    /admin/history/<name>/_tags/<tag>           a tag's entries, newest first
 *   POST   /admin/history/<name>/_tags/<tag>/_undelete {"to"?,"user"?,"username"?,"password"?}
 *   DELETE /admin/history/<name>                       purge the repository's entries
 *   DELETE /admin/history/<name>/_tags/<tag>           purge one tag's entries
 *
 * `_held`, `_tags` and `_undelete` cannot be repository name components (those
 * start with a lowercase letter or digit). Errors are OCI error JSON; a refused
 * undelete names its reason in `detail.reason` (the CLI's exit code comes from it).
 */
import { Hono } from "hono";
import { ociErrorResponse } from "../http/write-error.js";
import { OciError, type OciErrorCode } from "../oci/errors.js";
import type { Logger } from "../ops/logger.js";
import { login } from "../registry-client/credentials.js";
import type { TagHistory } from "./service.js";
import type { RefusalReason } from "./undelete-decision.js";

export const HISTORY_ADMIN_PATH = "/admin/history";
const MAX_BODY = 64 * 1024;

export type HistoryPath =
  | { kind: "repositories" }
  | { kind: "held" }
  | { kind: "repository"; name: string }
  | { kind: "tag"; name: string; tag: string }
  | { kind: "undelete"; name: string; tag: string };

/** The resource a path under /admin/history names, or null. Pure. */
export function parseHistoryPath(path: string): HistoryPath | null {
  if (path === HISTORY_ADMIN_PATH || path === `${HISTORY_ADMIN_PATH}/`) return { kind: "repositories" };
  if (!path.startsWith(`${HISTORY_ADMIN_PATH}/`)) return null;
  const rest = path.slice(HISTORY_ADMIN_PATH.length + 1);
  if (rest === "_held") return { kind: "held" };
  const at = rest.indexOf("/_tags/");
  if (at === -1) return rest === "" ? null : { kind: "repository", name: rest };
  const name = rest.slice(0, at);
  const tail = rest.slice(at + "/_tags/".length);
  const undelete = tail.endsWith("/_undelete");
  const tag = undelete ? tail.slice(0, -"/_undelete".length) : tail;
  if (name === "" || tag === "" || tag.includes("/")) return null;
  return { kind: undelete ? "undelete" : "tag", name, tag };
}

/** Each refusal's error code and status. */
const REFUSALS: Readonly<Record<RefusalReason, { code: OciErrorCode; status: number }>> = {
  "no-history": { code: "NAME_UNKNOWN", status: 404 },
  "not-in-history": { code: "MANIFEST_UNKNOWN", status: 404 },
  "tag-exists": { code: "DENIED", status: 409 },
  immutable: { code: "DENIED", status: 403 },
  purged: { code: "MANIFEST_UNKNOWN", status: 410 },
  expired: { code: "MANIFEST_UNKNOWN", status: 410 },
  gone: { code: "MANIFEST_UNKNOWN", status: 410 },
};

function badRequest(message: string): OciError {
  return new OciError("UNSUPPORTED", message, { reason: "bad-request" }, { status: 400 });
}

async function readBody(req: Request): Promise<Record<string, unknown>> {
  const text = await req.text();
  if (Buffer.byteLength(text) > MAX_BODY) throw badRequest("request body too large");
  if (text.trim() === "") return {};
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw badRequest("request body must be JSON");
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc))
    throw badRequest("request body must be a JSON object");
  return doc as Record<string, unknown>;
}

function optionalString(body: Record<string, unknown>, key: string): string | null {
  const v = body[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== "string") throw badRequest(`${key} must be a string`);
  return v;
}

function limitOf(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d{1,5}$/.test(raw) || Number(raw) < 1) {
    throw new OciError("PAGINATION_NUMBER_INVALID", "limit must be a whole number from 1 to 99999");
  }
  return Number(raw);
}

export function createHistoryAdminApp(history: TagHistory, logger: Logger): Hono {
  const app = new Hono();
  const window = () => ({ windowMs: history.windowMs });

  app.all("*", async (c) => {
    const route = parseHistoryPath(c.req.path);
    const method = c.req.method;
    if (route === null) throw new OciError("NAME_INVALID", "not a history resource", { path: c.req.path });
    const allow = (methods: string) => {
      if (!methods.split(", ").includes(method)) {
        throw new OciError("UNSUPPORTED", `${method} is not allowed here`, undefined, {
          status: 405,
          headers: { allow: methods },
        });
      }
    };
    switch (route.kind) {
      case "repositories":
        allow("GET");
        return c.json({ ...window(), repositories: await history.repositories() });
      case "held":
        allow("GET");
        return c.json(await history.held());
      case "repository": {
        allow("GET, DELETE");
        if (method === "DELETE") {
          const user = optionalString(await readBody(c.req.raw), "user");
          const removed = await history.purge(route.name, null, user);
          return c.json({ repository: route.name, tag: null, removed });
        }
        const entries = await history.repositoryEntries(route.name, limitOf(c.req.query("limit")));
        return c.json({ repository: route.name, ...window(), entries });
      }
      case "tag": {
        allow("GET, DELETE");
        if (method === "DELETE") {
          const user = optionalString(await readBody(c.req.raw), "user");
          const removed = await history.purge(route.name, route.tag, user);
          return c.json({ repository: route.name, tag: route.tag, removed });
        }
        const entries = await history.tagEntries(route.name, route.tag);
        return c.json({ repository: route.name, tag: route.tag, ...window(), entries });
      }
      case "undelete": {
        allow("POST");
        const body = await readBody(c.req.raw);
        const username = optionalString(body, "username");
        const password = optionalString(body, "password");
        if ((username === null) !== (password === null))
          throw badRequest("username and password go together");
        const result = await history.undelete({
          repository: route.name,
          tag: route.tag,
          to: optionalString(body, "to"),
          user: optionalString(body, "user"),
          credentials: username !== null ? login(username, password!) : null,
        });
        if (result.kind === "refused") {
          const { code, status } = REFUSALS[result.reason];
          throw new OciError(code, result.message, { reason: result.reason, ...result.detail }, { status });
        }
        logger.info(
          { repository: route.name, tag: route.tag, digest: result.digest, result: result.kind },
          "tag undeleted",
        );
        const { kind, ...answer } = result;
        return c.json({ result: kind, ...answer });
      }
    }
  });

  app.onError((err) => {
    if (err instanceof OciError) return ociErrorResponse(err);
    logger.error({ err }, "history admin request failed");
    return ociErrorResponse(new OciError("UNKNOWN", "internal proxy error"));
  });
  return app;
}
