/**
 * A scripted fake upstream, for faults only: it sits in front of a real
 * registry and forwards every request to it, except the requests a rule
 * matches, which get the rule's scripted answer (a status, a reset connection
 * or no answer at all). It also records every request, so tests can count what
 * the proxy sent upstream.
 */
import http, { type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

export type FaultAction =
  | { status: number; body?: string; headers?: Record<string, string> }
  | { reset: true }
  | { hang: true }
  /** Forward to the registry (its effect happens), drop its answer, then act. */
  | { forwardThen: { status: number; body?: string } | { reset: true } }
  /**
   * A fault point: call `until` when the request arrives (to hold it until a
   * test releases it, or to change the registry meanwhile), then forward it
   * (default) or answer with `answer`.
   */
  | {
      until: () => Promise<unknown>;
      answer?: { status: number; body?: string; headers?: Record<string, string> };
    };

export interface FaultRule {
  method?: string;
  /** Matched against the request path (without query). */
  path?: RegExp;
  /** Extra condition on the request (headers). */
  when?: (req: IncomingMessage) => boolean;
  /** How many times the rule fires (default: every time). */
  times?: number;
  action: FaultAction;
}

export interface SeenRequest {
  method: string;
  path: string;
  /** The scripted answer it got, or "forwarded". */
  answer: "forwarded" | "fault";
  contentType?: string;
  /** The scheme of its Authorization (`Basic`, `Bearer`), when it had one. */
  authScheme?: string;
}

export interface FakeUpstream {
  readonly url: string;
  readonly requests: SeenRequest[];
  addRule(rule: FaultRule): void;
  clearRules(): void;
  /** Resolves with the first request (already seen or future) matching `match`. */
  waitFor(match: (r: SeenRequest) => boolean, timeoutMs?: number): Promise<SeenRequest>;
  clearRequests(): void;
  stop(): Promise<void>;
}

const JSON_ERROR = (code: string, message: string) => JSON.stringify({ errors: [{ code, message }] });

/** Common scripted answers. */
export const FAULTS = {
  status500: {
    status: 500,
    body: JSON_ERROR("UNKNOWN", "unknown error"),
    headers: { "content-type": "application/json" },
  },
  unsupported405: {
    status: 405,
    body: JSON_ERROR("UNSUPPORTED", "The operation is unsupported."),
    headers: { "content-type": "application/json" },
  },
  reset: { reset: true },
  hang: { hang: true },
} as const satisfies Record<string, FaultAction>;

/** A capability probe of the tag delete (never-existing tag, or the zero digest). */
export function isProbe(r: SeenRequest): boolean {
  return (
    r.method === "DELETE" &&
    (/\/manifests\/rcp-probe-/.test(r.path) || r.path.endsWith(`sha256:${"0".repeat(64)}`))
  );
}

/** The requests a swap made, probes left out (they are cached per repository). */
export function swapRequests(requests: readonly SeenRequest[]): SeenRequest[] {
  return requests.filter((r) => !isProbe(r));
}

/** A tombstone DELETE: by digest, but not the zero-digest capability probe. */
export const TOMBSTONE_DELETE_PATH = /\/manifests\/sha256:(?!0{64}$)[a-f0-9]{64}$/;

export async function startFakeUpstream(backend: string): Promise<FakeUpstream> {
  const target = new URL(backend);
  let rules: Array<FaultRule & { left: number }> = [];
  const requests: SeenRequest[] = [];
  const hanging = new Set<IncomingMessage>();
  const waiters: Array<{ match: (r: SeenRequest) => boolean; resolve: (r: SeenRequest) => void }> = [];

  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    const rule = rules.find(
      (r) =>
        r.left > 0 &&
        (r.method === undefined || r.method === req.method) &&
        (r.path === undefined || r.path.test(path)) &&
        (r.when === undefined || r.when(req)),
    );
    const seen: SeenRequest = { method: req.method ?? "", path, answer: rule ? "fault" : "forwarded" };
    if (typeof req.headers["content-type"] === "string") seen.contentType = req.headers["content-type"];
    if (req.headers.authorization) seen.authScheme = req.headers.authorization.split(" ", 1)[0];
    requests.push(seen);
    for (const w of waiters.filter((w) => w.match(seen))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(seen);
    }
    if (rule) {
      rule.left--;
      const a = rule.action;
      if ("forwardThen" in a) {
        const then = a.forwardThen;
        forward(
          req,
          (up) => {
            up.resume();
            up.once("end", () => {
              if ("reset" in then) req.socket.destroy();
              else {
                res.writeHead(then.status, { "docker-distribution-api-version": "registry/2.0" });
                res.end(then.body);
              }
            });
          },
          res,
        );
        return;
      }
      if ("until" in a) {
        hanging.add(req);
        void a.until().then(
          () => {
            hanging.delete(req);
            // The caller gave up meanwhile (a killed proxy): its request never reaches the registry.
            if (req.socket.destroyed) return;
            if (!a.answer) return forward(req, (up) => pipeBack(up, res), res);
            const then = a.answer;
            req.resume();
            const answer = () => {
              res.writeHead(then.status, {
                "docker-distribution-api-version": "registry/2.0",
                ...then.headers,
              });
              res.end(then.body);
            };
            if (req.readableEnded) answer();
            else req.once("end", answer);
          },
          () => req.socket.destroy(),
        );
        return;
      }
      req.resume();
      if ("reset" in a) {
        req.once("end", () => req.socket.destroy());
        return;
      }
      if ("hang" in a) {
        hanging.add(req);
        return;
      }
      req.once("end", () => {
        res.writeHead(a.status, { "docker-distribution-api-version": "registry/2.0", ...a.headers });
        res.end(a.body);
      });
      return;
    }
    forward(req, (up) => pipeBack(up, res), res);
  });

  function pipeBack(up: IncomingMessage, res: http.ServerResponse) {
    res.writeHead(up.statusCode ?? 502, up.headers);
    up.pipe(res);
  }

  function forward(
    req: IncomingMessage,
    onResponse: (up: IncomingMessage) => void,
    res: http.ServerResponse,
  ) {
    const out = http.request(
      {
        hostname: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      onResponse,
    );
    out.on("error", () => res.destroy());
    req.pipe(out);
  }
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    addRule(rule) {
      rules.push({ ...rule, left: rule.times ?? Number.POSITIVE_INFINITY });
    },
    clearRules() {
      rules = [];
    },
    clearRequests() {
      requests.length = 0;
    },
    waitFor(match, timeoutMs = 60_000) {
      const seen = requests.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no matching upstream request within ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({
          match,
          resolve: (r) => {
            clearTimeout(timer);
            resolve(r);
          },
        });
      });
    },
    stop() {
      for (const r of hanging) r.socket.destroy();
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
