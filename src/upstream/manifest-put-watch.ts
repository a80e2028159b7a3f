/**
 * Manifest PUTs that stream through the passthrough (`oci.referrers` off): a copy of
 * the body (at most 4 MiB, distribution's manifest limit) is kept while it streams
 * upstream, so that 2.8's 500 for layer URLs it does not allow (oci/layer-urls.ts)
 * can be answered as the 400 it is. Only these requests pay for it; a manifest PUT
 * the proxy owns reads its body anyway and answers the same way there.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { proxied } from "../http/proxied-request.js";
import { writeOciError } from "../http/write-error.js";
import { layerUrlRefusal } from "../oci/layer-urls.js";
import { MAX_MANIFEST_BYTES } from "../oci/media-types.js";

/** Keeps a copy of the request body as it streams (call it after the forward started). */
export function watchManifestPut(req: IncomingMessage): void {
  const chunks: Buffer[] = [];
  let size = 0;
  const fields = proxied(req);
  fields.rcpManifestBody = chunks;
  const onData = (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_MANIFEST_BYTES) {
      fields.rcpManifestBody = null;
      req.off("data", onData);
      return;
    }
    chunks.push(chunk);
  };
  req.on("data", onData);
}

/**
 * On a watched manifest PUT answered 500: when the manifest carries layers whose
 * URLs 2.8 validates, answers 400 MANIFEST_INVALID instead and discards the
 * upstream's answer. True when it answered.
 */
export function replaceRefusedManifestPut(
  req: IncomingMessage,
  res: ServerResponse,
  proxyRes: IncomingMessage,
): boolean {
  const chunks = proxied(req).rcpManifestBody;
  if (!chunks || !req.complete) return false;
  const refusal = layerUrlRefusal(Buffer.concat(chunks), proxyRes.statusCode ?? 0);
  if (refusal === null) return false;
  writeOciError(res, refusal.code, refusal.message, refusal.detail);
  proxyRes.destroy();
  return true;
}
