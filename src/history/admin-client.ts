/**
 * The tag history's admin endpoints (admin-app.ts) as the CLI and gc call them:
 * over the admin listener, with the admin token, through the one HTTP client. An
 * answer other than 2xx is thrown as an AdminAnswerError carrying the OCI error
 * (its code, message and `detail.reason`); nothing answering, as AdminUnreachableError.
 */
import { createHttpClient, type HttpResponse } from "../registry-client/http.js";
import type { HistoryEntry } from "./queries.js";
import type { HeldSummary } from "./service.js";
import type { RepositorySummary } from "./store.js";

export class AdminUnreachableError extends Error {
  override readonly name = "AdminUnreachableError";
}

export class AdminAnswerError extends Error {
  override readonly name = "AdminAnswerError";
  constructor(
    readonly status: number,
    readonly code: string | null,
    message: string,
    readonly detail: Record<string, unknown>,
  ) {
    super(message);
  }
  /** `detail.reason` of the OCI error (why an undelete was refused, `history-off`, ...). */
  get reason(): string | null {
    const r = this.detail["reason"];
    return typeof r === "string" ? r : null;
  }
}

export interface TagEntries {
  repository: string;
  tag: string;
  windowMs: number;
  entries: HistoryEntry[];
}

export interface RepositoryEntries {
  repository: string;
  windowMs: number;
  entries: HistoryEntry[];
}

export interface UndeleteAnswer {
  result: "restored" | "already";
  repository: string;
  tag: string;
  digest: string;
  previous?: string | null;
}

export interface UndeleteBody {
  to?: string;
  user?: string;
  username?: string;
  password?: string;
}

export interface HistoryAdminClient {
  repositories(): Promise<{ windowMs: number; repositories: RepositorySummary[] }>;
  repository(name: string, limit?: number): Promise<RepositoryEntries>;
  tag(name: string, tag: string): Promise<TagEntries>;
  held(): Promise<HeldSummary>;
  undelete(name: string, tag: string, body: UndeleteBody): Promise<UndeleteAnswer>;
  purge(name: string, tag: string | null, user: string | null): Promise<{ removed: number }>;
  close(): Promise<void>;
}

function answerError(res: HttpResponse): AdminAnswerError {
  let code: string | null = null;
  let message = `the admin listener answered ${res.status}`;
  let detail: Record<string, unknown> = {};
  try {
    const first = (JSON.parse(res.body.toString("utf8")) as { errors?: unknown[] }).errors?.[0] as
      | { code?: unknown; message?: unknown; detail?: unknown }
      | undefined;
    if (typeof first?.code === "string") code = first.code;
    if (typeof first?.message === "string") message = first.message;
    if (typeof first?.detail === "object" && first.detail !== null)
      detail = first.detail as Record<string, unknown>;
  } catch {
    const text = res.body.toString("utf8").trim().slice(0, 200);
    if (text) message = `${message}: ${text}`;
  }
  return new AdminAnswerError(res.status, code, message, detail);
}

export function createHistoryAdminClient(adminUrl: string, token: string | null): HistoryAdminClient {
  const base = new URL(adminUrl);
  const client = createHttpClient(base.origin, { timeoutMs: 120_000 });
  const root = `${base.pathname.replace(/\/$/, "")}/admin/history`;
  const auth: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` };

  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: HttpResponse;
    try {
      res = await client.request({
        method,
        path: root + path,
        headers: body === undefined ? auth : { ...auth, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: Buffer.from(JSON.stringify(body)) }),
      });
    } catch (err) {
      throw new AdminUnreachableError(`${adminUrl} unreachable (${(err as Error).message})`);
    }
    if (res.status < 200 || res.status > 299) throw answerError(res);
    return JSON.parse(res.body.toString("utf8")) as T;
  }
  const tagPath = (name: string, tag: string) => `/${name}/_tags/${encodeURIComponent(tag)}`;

  return {
    repositories: () => call("GET", ""),
    repository: (name, limit) => call("GET", `/${name}${limit === undefined ? "" : `?limit=${limit}`}`),
    tag: (name, tag) => call("GET", tagPath(name, tag)),
    held: () => call("GET", "/_held"),
    undelete: (name, tag, body) => call("POST", `${tagPath(name, tag)}/_undelete`, body),
    purge: (name, tag, user) =>
      call("DELETE", tag === null ? `/${name}` : tagPath(name, tag), user === null ? {} : { user }),
    close: () => client.close(),
  };
}
