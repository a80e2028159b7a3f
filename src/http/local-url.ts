/**
 * Listeners of this machine as a client on it sees them: the URL that reaches
 * one (a wildcard address reached on 127.0.0.1, an IPv6 address bracketed), and
 * whether a host is loopback. Pure.
 */

/** The URL reaching a listener bound to `host`:`port` from this machine. */
export function localUrl(host: string, port: number, tls: boolean): string {
  const bare = host.replace(/^\[(.*)\]$/, "$1");
  const h = bare === "0.0.0.0" || bare === "::" ? "127.0.0.1" : bare.includes(":") ? `[${bare}]` : bare;
  return `${tls ? "https" : "http"}://${h}:${port}`;
}

/** True for a host only this machine can reach: localhost, 127.0.0.0/8, ::1 (bracketed or IPv4-mapped too). */
export function isLoopbackHost(host: string): boolean {
  const a = host.replace(/^\[(.*)\]$/, "$1").replace(/^::ffff:/i, "");
  return a === "localhost" || a === "::1" || /^127\.\d+\.\d+\.\d+$/.test(a);
}
