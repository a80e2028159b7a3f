/**
 * A small typed client for the few upstream calls the proxy makes itself (tags
 * list, capability probes, the tag swap). Bodies here are small and capped; blobs
 * never go through this client, they are streamed by the passthrough.
 *
 * Every call runs under a timeout and an optional abort signal, on the shared
 * keep-alive agent.
 */
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http";
import https from "node:https";
import { socketAddress, type UpstreamTarget } from "./target.js";

/** distribution caps manifest bodies at 4 MiB; nothing the proxy reads is larger. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface UpstreamRequest {
  method: string;
  /** Path and query, starting with `/v2/`. */
  path: string;
  headers?: OutgoingHttpHeaders;
  body?: Buffer;
  signal?: AbortSignal;
  timeoutMs?: number;
  maxBodyBytes?: number;
}

export interface UpstreamResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export class UpstreamError extends Error {
  override readonly name = "UpstreamError";
  constructor(
    message: string,
    readonly kind: "unreachable" | "timeout" | "aborted" | "too-large" | "reset",
  ) {
    super(message);
  }
}

export interface UpstreamClient {
  request(req: UpstreamRequest): Promise<UpstreamResponse>;
  readonly target: UpstreamTarget;
}

/** Whether a connect failed because the upstream cannot be reached (as opposed to a broken exchange). */
export function isUnreachable(code: string | undefined): boolean {
  return code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EHOSTUNREACH";
}

/** The kind of a transport error of an upstream call. */
export function classifyTransportError(code: string | undefined): UpstreamError["kind"] {
  return isUnreachable(code) ? "unreachable" : "reset";
}

export function createUpstreamClient(target: UpstreamTarget): UpstreamClient {
  const mod = target.isHttps ? https : http;
  const base = target.url;
  const prefix = base.pathname.replace(/\/+$/, "");
  const address = socketAddress(target);

  function request(req: UpstreamRequest): Promise<UpstreamResponse> {
    const limit = req.maxBodyBytes ?? MAX_BODY_BYTES;
    const timeoutMs = req.timeoutMs ?? target.requestTimeoutMs;
    return new Promise<UpstreamResponse>((resolve, reject) => {
      if (req.signal?.aborted) {
        reject(new UpstreamError("request aborted by the client", "aborted"));
        return;
      }
      const headers: OutgoingHttpHeaders = { ...req.headers, host: base.host };
      if (req.body) headers["content-length"] = String(req.body.length);
      else if (req.method !== "GET" && req.method !== "HEAD") headers["content-length"] = "0";
      const outgoing = mod.request({
        protocol: base.protocol,
        hostname: address.host,
        port: address.port,
        method: req.method,
        path: prefix + req.path,
        headers,
        agent: target.agent,
        ...target.tls,
      });
      let settled = false;
      const done = () => {
        clearTimeout(timer);
        req.signal?.removeEventListener("abort", onAbort);
      };
      const fail = (e: UpstreamError) => {
        if (settled) return;
        settled = true;
        done();
        outgoing.destroy();
        reject(e);
      };
      const timer = setTimeout(
        () =>
          fail(new UpstreamError(`upstream did not answer ${req.method} within ${timeoutMs} ms`, "timeout")),
        timeoutMs,
      );
      const onAbort = () => fail(new UpstreamError("request aborted by the client", "aborted"));
      req.signal?.addEventListener("abort", onAbort, { once: true });
      outgoing.on("error", (err: NodeJS.ErrnoException) => {
        fail(
          new UpstreamError(
            `upstream ${req.method} failed: ${err.code ?? err.message}`,
            classifyTransportError(err.code),
          ),
        );
      });
      outgoing.on("response", (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > limit) {
            res.destroy();
            fail(new UpstreamError(`upstream body exceeds ${limit} bytes`, "too-large"));
            return;
          }
          chunks.push(chunk);
        });
        res.on("error", (err: NodeJS.ErrnoException) => {
          fail(new UpstreamError(`upstream response broke: ${err.code ?? err.message}`, "reset"));
        });
        res.on("end", () => {
          if (settled) return;
          settled = true;
          done();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks, size) });
        });
      });
      outgoing.end(req.body);
    });
  }

  return { request, target };
}
