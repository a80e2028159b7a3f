/**
 * At start, whether the upstream registry answers at all: the proxy starts
 * either way (the registry may come up later), but a URL that refuses
 * connections, does not resolve or times out is logged as a WARN naming the
 * URL and the error, instead of surfacing only at the first client's 502.
 */

import type { RegistryClient } from "../registry-client/client.js";
import { ANONYMOUS } from "../registry-client/credentials.js";
import { describeFailure, isFailed } from "../registry-client/failure.js";
import type { Logger } from "./logger.js";

/** How long the start-up probe waits for an answer. */
export const REACH_TIMEOUT_MS = 5000;

/** `GET /v2/` once; any HTTP answer (200, 401, even 404) counts as reachable. Null when it answered. */
export async function upstreamUnreachable(registry: RegistryClient): Promise<string | null> {
  const res = await registry.as(ANONYMOUS).ping({ timeoutMs: REACH_TIMEOUT_MS });
  return isFailed(res) && res.kind === "network" ? describeFailure(res) : null;
}

/** Logs the WARN when the upstream does not answer; never throws. */
export async function warnIfUnreachable(
  registry: RegistryClient,
  url: string,
  logger: Logger,
): Promise<void> {
  try {
    const error = await upstreamUnreachable(registry);
    if (error === null) return;
    logger.warn(
      { upstream: url, error },
      `upstream registry ${url} is unreachable (${error}): the proxy runs, and answers 502 until it is reachable`,
    );
  } catch (err) {
    logger.warn({ upstream: url, err }, `upstream registry ${url}: the start-up check failed`);
  }
}
