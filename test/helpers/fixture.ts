/**
 * The one fixture for "a registry and a proxy in front of it": the real
 * docker-registry 2.8.2 (registry.ts) on an ephemeral loopback port with
 * temporary storage, and the proxy (proxy.ts) in process on port 0, each with
 * its own temporary journal and data dir; stopped in the right order (the proxy
 * first), whatever failed.
 *
 *   describe("...", () => {
 *     const fx = useRegistryAndProxy({ proxy: { tags: { cacheTtlMs: 0 } } });
 *     it("...", async () => { await request("GET", `${fx.proxy.url}/v2/`); });
 *   });
 *
 * Further proxies in front of the same registry (replicas, other settings) come
 * from `fx.addProxy()` and stop with the fixture; a proxy for one test only,
 * from `withProxy()`.
 */
import { after, before } from "node:test";
import type { RegistryOptions } from "../../src/registry/launch.js";
import { startProxy, type TestProxy } from "./proxy.js";
import { startRegistry, type TestRegistry } from "./registry.js";

export interface RegistryAndProxyOptions {
  /** The registry's options (htpasswd, token auth, TLS, its http.host ...). */
  registry?: Omit<RegistryOptions, "dir">;
  /** The proxy's config overrides (`upstream.url` is the registry's unless `upstream` says otherwise). */
  proxy?: Record<string, unknown>;
  /** Where the proxy forwards, when not straight to the registry (a fault injector in front of it). */
  upstream?: (registry: TestRegistry) => string;
  /** The proxy's listen address (default 127.0.0.1). */
  host?: string;
}

export interface RegistryAndProxy {
  readonly registry: TestRegistry;
  readonly proxy: TestProxy;
  /** One more proxy in front of the same registry (or `upstream`), stopped with the others. */
  addProxy(overrides?: Record<string, unknown>, upstream?: string): Promise<TestProxy>;
  /** Stops every proxy, then the registry. */
  stop(): Promise<void>;
}

/** Starts a registry and a proxy in front of it. */
export async function startRegistryAndProxy(o: RegistryAndProxyOptions = {}): Promise<RegistryAndProxy> {
  const registry = await startRegistry(o.registry);
  const proxies: TestProxy[] = [];
  const defaultUpstream = o.upstream ? o.upstream(registry) : registry.url;
  const stop = async () => {
    try {
      await Promise.all(proxies.map((p) => p.stop()));
    } finally {
      await registry.stop();
    }
  };
  const addProxy = async (overrides: Record<string, unknown> = {}, upstream = defaultUpstream) => {
    const proxy = await startProxy(upstream, overrides, o.host ? { host: o.host } : {});
    proxies.push(proxy);
    return proxy;
  };
  try {
    const proxy = await addProxy(o.proxy);
    return { registry, proxy, addProxy, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * A registry and a proxy for the tests of the enclosing describe: started before
 * them, stopped after them. `options` may be a function, for settings known only
 * once earlier hooks ran (a token server's realm, a work folder).
 */
export function useRegistryAndProxy(
  options: RegistryAndProxyOptions | (() => RegistryAndProxyOptions) = {},
): RegistryAndProxy {
  let started: RegistryAndProxy | null = null;
  const get = () => {
    if (started === null) throw new Error("the registry and proxy start in before(): use them inside tests");
    return started;
  };
  before(async () => {
    started = await startRegistryAndProxy(typeof options === "function" ? options() : options);
  });
  after(async () => {
    await started?.stop();
  });
  return {
    get registry() {
      return get().registry;
    },
    get proxy() {
      return get().proxy;
    },
    addProxy: (overrides, upstream) => get().addProxy(overrides, upstream),
    stop: () => get().stop(),
  };
}

/** A proxy in front of `upstreamUrl` for the length of `fn`, stopped after it whatever happened. */
export async function withProxy<T>(
  upstreamUrl: string,
  overrides: Record<string, unknown>,
  fn: (proxy: TestProxy) => Promise<T>,
): Promise<T> {
  const proxy = await startProxy(upstreamUrl, overrides);
  try {
    return await fn(proxy);
  } finally {
    await proxy.stop();
  }
}

/** A registry for the length of `fn`, stopped after it whatever happened. */
export async function withRegistry<T>(
  options: Omit<RegistryOptions, "dir">,
  fn: (registry: TestRegistry) => Promise<T>,
): Promise<T> {
  const registry = await startRegistry(options);
  try {
    return await fn(registry);
  } finally {
    await registry.stop();
  }
}
