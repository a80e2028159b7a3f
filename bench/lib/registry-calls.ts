/**
 * Counts the calls a proxy makes of its own through the registry client (each
 * verb of every `as(credentials)` binding: HEADs, GETs, PUTs, the tags list, a DELETE).
 */
import type { RegistryClient } from "../../src/registry-client/client.js";

export function countRegistryCalls(registry: RegistryClient, onCall: () => void): void {
  const as = registry.as.bind(registry);
  registry.as = (credentials) => {
    const bound = as(credentials);
    return Object.fromEntries(
      Object.entries(bound).map(([verb, fn]) => [
        verb,
        (...args: unknown[]) => {
          onCall();
          return (fn as (...a: unknown[]) => unknown)(...args);
        },
      ]),
    ) as unknown as typeof bound;
  };
}
