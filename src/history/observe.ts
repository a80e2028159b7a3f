/**
 * What the handlers learn for the history around a change they make: the digest a
 * tag held before a PUT (one HEAD, with the client's own credentials, made while
 * the manifest body is still arriving), and who made the change through what.
 * Never throws: the history never fails a client's request.
 */
import type { RegistryCalls } from "../registry-client/client.js";
import { isFailed } from "../registry-client/failure.js";
import type { Via } from "./events.js";

/** The User-Agent of `registry-compat-proxy prune`. */
const PRUNE_AGENT = /^registry-compat-proxy-prune\b/;

/**
 * The digest `name:tag` points at: null when it does not exist, undefined when it
 * could not be learned (refused, unreachable, no digest header).
 */
export async function digestBefore(
  reg: RegistryCalls,
  name: string,
  tag: string,
): Promise<string | null | undefined> {
  const head = await reg.manifestHead(name, tag);
  if (head === null) return null;
  return isFailed(head) ? undefined : head.digest;
}

/**
 * Through what a change came: gc's deletes carry the read-only window's lease
 * (`maintenance`); prune names itself in its User-Agent; anything else is a client's.
 */
export function viaOf(userAgent: string | undefined, maintenance: boolean): Via {
  if (maintenance) return "gc";
  if (userAgent !== undefined && PRUNE_AGENT.test(userAgent)) return "prune";
  return "client";
}
