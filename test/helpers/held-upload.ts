/**
 * An upload PATCH through the proxy whose body is held open: its first 1000 bytes
 * are sent, the rest only on `finish()`. A write in flight, for the read-only window.
 */
import http from "node:http";
import { request } from "./http.js";
import { makeImage } from "./oci.js";

export interface HeldUpload {
  /** The POST that started the session (its status, for checks). */
  readonly startStatus: number;
  /** Sends the rest of the body. */
  finish(): void;
  /** The PATCH's status once answered. */
  readonly answered: Promise<number>;
}

export async function startHeldUpload(proxyUrl: string, repo: string): Promise<HeldUpload> {
  const blob = makeImage({ layerCount: 1, layerSize: 64 * 1024 }).layers[0]!;
  const start = await request("POST", `${proxyUrl}/v2/${repo}/blobs/uploads/`);
  const loc = new URL(start.headers.location as string, proxyUrl);
  const patch = http.request(`${proxyUrl}${loc.pathname}${loc.search}`, {
    method: "PATCH",
    headers: { "content-type": "application/octet-stream", "content-length": blob.size },
  });
  const answered = new Promise<number>((resolve, reject) => {
    patch.on("response", (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    patch.on("error", reject);
  });
  patch.write(blob.bytes.subarray(0, 1000));
  return { startStatus: start.status, finish: () => patch.end(blob.bytes.subarray(1000)), answered };
}
