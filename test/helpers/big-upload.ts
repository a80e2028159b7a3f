/**
 * A whole blob uploaded in one request while a test does something else (stops the
 * proxy, for example): `POST` opens the session, then one `PUT …&digest=` carries
 * the body. Its first part is sent at once; `sendRest()` sends the remainder, so
 * the request is in flight in between.
 */
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import { request } from "./http.js";

export interface BigUpload {
  readonly digest: string;
  readonly size: number;
  /** Sends the rest of the body (respecting backpressure) and ends the request. */
  sendRest(): Promise<void>;
  /** The PUT's answer; rejects when the connection is cut before it. */
  readonly answered: Promise<{ status: number; body: string }>;
}

/**
 * `metricsUrl` (the proxy's `/metrics`): resolves only once the proxy counts the PUT
 * in flight (`rcp_requests_in_flight`), so that a signal sent next finds it running.
 */
export async function startBigUpload(
  proxyUrl: string,
  repo: string,
  metricsUrl: string,
  size = 64 * 1024 * 1024,
  first = 8 * 1024 * 1024,
): Promise<BigUpload> {
  const bytes = randomBytes(size);
  const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
  const start = await request("POST", `${proxyUrl}/v2/${repo}/blobs/uploads/`);
  if (start.status !== 202) throw new Error(`POST upload: ${start.status} ${start.text}`);
  const loc = new URL(start.headers.location as string, proxyUrl);
  loc.searchParams.set("digest", digest);
  const put = http.request(`${proxyUrl}${loc.pathname}${loc.search}`, {
    method: "PUT",
    agent: false,
    headers: { "content-type": "application/octet-stream", "content-length": size },
  });
  const answered = new Promise<{ status: number; body: string }>((resolve, reject) => {
    put.on("response", (res) => {
      let body = "";
      res.on("data", (c: Buffer) => {
        body += c.toString();
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    put.on("error", reject);
  });
  answered.catch(() => {});
  put.write(bytes.subarray(0, first));
  const deadline = Date.now() + 60_000;
  for (;;) {
    const text = (await request("GET", metricsUrl)).text;
    const m = /^rcp_requests_in_flight (\d+)/m.exec(text);
    if (m && Number(m[1]) >= 1) break;
    if (Date.now() > deadline) throw new Error("the upload never showed in rcp_requests_in_flight");
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    digest,
    size,
    async sendRest() {
      const chunk = 1024 * 1024;
      for (let at = first; at < size; at += chunk) {
        if (put.destroyed) return;
        if (!put.write(bytes.subarray(at, Math.min(at + chunk, size)))) {
          await new Promise<void>((r) => {
            put.once("drain", r);
            put.once("close", r);
          });
        }
      }
      put.end();
    },
    answered,
  };
}
