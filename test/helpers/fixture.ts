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

export interface RegistryAndProxyOptions<F extends Front = Front> {
  /** The registry's options (htpasswd, token auth, TLS, its http.host ...). */
  registry?: Omit<RegistryOptions, "dir">;
  /** The proxy's config overrides (`upstream.url` is the registry's unless `upstream` says otherwise). */
  proxy?: Record<string, unknown>;
  /**
   * A fault injector between the proxy and the registry (fake-upstream.ts), started
   * on the registry; the proxy forwards to it, and it stops with the fixture.
   */
  front?: (registry: TestRegistry) => Promise<F>;
  /** The proxy's listen address (default 127.0.0.1). */
  host?: string;
}

/** What stands between the proxy and the registry, when something does. */
export interface Front {
  readonly url: string;
  stop(): Promise<void>;
}

export interface RegistryAndProxy<F extends Front = Front> {
  readonly registry: TestRegistry;
  /** The fault injector in front of the registry (the `front` option). */
  readonly front: F;
  readonly proxy: TestProxy;
  /** One more proxy in front of the same registry (or its front, or `upstream`), stopped with the others. */
  addProxy(overrides?: Record<string, unknown>, upstream?: string): Promise<TestProxy>;
  /** Stops every proxy, then the registry. */
  stop(): Promise<void>;
}

/** Starts a registry and a proxy in front of it. */
export async function startRegistryAndProxy<F extends Front = Front>(
  o: RegistryAndProxyOptions<F> = {},
): Promise<RegistryAndProxy<F>> {
  const registry = await startRegistry(o.registry);
  const proxies: TestProxy[] = [];
  let front: F | null = null;
  const stop = async () => {
    try {
      await Promise.all(proxies.map((p) => p.stop()));
      await front?.stop();
    } finally {
      await registry.stop();
    }
  };
  const addProxy = async (overrides: Record<string, unknown> = {}, upstream = front?.url ?? registry.url) => {
    const proxy = await startProxy(upstream, overrides, o.host ? { host: o.host } : {});
    proxies.push(proxy);
    return proxy;
  };
  try {
    front = o.front ? await o.front(registry) : null;
    const proxy = await addProxy(o.proxy);
    return {
      registry,
      get front(): F {
        if (front === null) throw new Error("no front: the fixture was started without one");
        return front;
      },
      proxy,
      addProxy,
      stop,
    };
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
export function useRegistryAndProxy<F extends Front = Front>(
  options: RegistryAndProxyOptions<F> | (() => RegistryAndProxyOptions<F>) = {},
): RegistryAndProxy<F> {
  let started: RegistryAndProxy<F> | null = null;
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
    get front() {
      return get().front;
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
