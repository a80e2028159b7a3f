/**
 * Loopback port helpers for tests.
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/** The lowest port the kernel hands out for port-0 binds (32768 when unreadable). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 2048 ? low : 32768;
  } catch {
    return 32768;
  }
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/**
 * A loopback port nothing listens on. It is picked below the kernel's ephemeral
 * range, so no port-0 bind (every server the tests start, in any process) can
 * take it between this call and its use; the tests never bind fixed ports.
 */
export async function closedPort(): Promise<number> {
  const high = ephemeralLow() - 1;
  for (let i = 0; i < 100; i++) {
    const port = 20000 + Math.floor(Math.random() * (high - 20000));
    if (await bindable(port)) return port;
  }
  throw new Error("no free loopback port below the ephemeral range");
}
