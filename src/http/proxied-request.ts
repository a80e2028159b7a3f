/**
 * The request class the proxy's server creates (`http.createServer({ IncomingMessage })`):
 * what the listener and the passthrough learn about a request lives in its own
 * fields, declared once, instead of in WeakMaps keyed by the request. A WeakMap
 * entry per request and per fact is an ephemeron that every garbage collection
 * has to process, and each read is a hash lookup; on the passthrough path that
 * was a measurable part of the proxy's CPU per request (docs/performance.md).
 *
 * Code handed a plain IncomingMessage (a server that was not given this class)
 * still works: a field that was never set reads undefined, like a WeakMap miss.
 */
import { IncomingMessage } from "node:http";
import type { RouteMatch } from "../oci/routes.js";

export class ProxiedRequest extends IncomingMessage {
  /** The route the listener parsed (http/routing.ts). */
  rcpRoute: RouteMatch | undefined = undefined;
  /** Who answers it, from the routing table (http/routing.ts `Owner`; null: the upstream). */
  rcpOwner: string | null | undefined = undefined;
  /** A write the read-only window's holder sent (its lease checked by the listener). */
  rcpMaintenance = false;
  /** Passthrough: the origin the client used (`proto://host`), for Location and Link. */
  rcpOrigin: string | undefined = undefined;
  /** Passthrough: the Transfer-Encoding of a chunked body (it goes upstream chunked too). */
  rcpChunked: string | undefined = undefined;
  /** Passthrough: the upstream response being relayed. */
  rcpUpstream: IncomingMessage | undefined = undefined;
  /** Passthrough: sent on a kept-alive socket from the pool. */
  rcpReusedSocket = false;
  /** Passthrough: already sent a second time (see mayRetry). */
  rcpRetried = false;
  /** Passthrough: the upstream exchange was cut by a time limit (answered 504, not 502). */
  rcpTimedOut = false;
  /** Passthrough manifest PUT: the body's chunks seen so far, null once it outgrew the limit (upstream/manifest-put-watch.ts). */
  rcpManifestBody: Buffer[] | null | undefined = undefined;
}

/** A request's fields, whichever class created it (undefined where a plain IncomingMessage has none). */
export function proxied(req: IncomingMessage): Partial<ProxiedRequest> {
  return req as Partial<ProxiedRequest>;
}
