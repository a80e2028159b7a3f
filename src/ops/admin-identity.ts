/**
 * What a proxy says about itself on its admin listener (`GET /admin/upstream`), so
 * that `gc` can check, before it holds the read-only window, that the window guards
 * the registry whose storage it is about to collect: the upstream it fronts, the
 * embedded registry's config and storage when it runs one, and where its own API
 * listens (gc deletes through it).
 */

export const ADMIN_IDENTITY_PATH = "/admin/upstream";

export interface AdminIdentity {
  /** This proxy process (random per start). */
  instance: string;
  /** The registry it forwards to. */
  upstream: string;
  /** The embedded registry it started (no upstream.url), or null. */
  embedded: { registryConfig: string; storage: string } | null;
  /** Its own registry API: the bound port and scheme, and proxy.publicUrl when set. */
  proxy: { port: number; tls: boolean; publicUrl: string | null };
}

/**
 * The proxy API's URL for a client that reached the admin listener at `adminUrl`:
 * the public URL when the proxy has one, else the admin listener's host with the
 * API's own port and scheme (both listeners are on the same host).
 */
export function proxyUrlFor(identity: AdminIdentity, adminUrl: string): string {
  if (identity.proxy.publicUrl) return identity.proxy.publicUrl.replace(/\/+$/, "");
  const admin = new URL(adminUrl);
  return `${identity.proxy.tls ? "https" : "http"}://${admin.hostname}:${identity.proxy.port}`;
}
