/**
 * The embedded registry's port, kept across restarts: `<registry dir>/port` holds
 * the port it last listened on; the next start asks for that port again when it is
 * free (checked by binding it on loopback a moment), so clients and scripts keep
 * the same address; otherwise any free port, and the caller says so.
 */
import { readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";

export function portFile(registryDir: string): string {
  return join(registryDir, "port");
}

/** The recorded port, or null (none, or not a port). */
export function recordedPort(registryDir: string): number | null {
  try {
    const text = readFileSync(portFile(registryDir), "utf8").trim();
    const port = Number(text);
    return /^\d+$/.test(text) && port > 0 && port < 65536 ? port : null;
  } catch {
    return null;
  }
}

export function recordPort(registryDir: string, port: number): void {
  writeFileSync(portFile(registryDir), `${port}\n`);
}

/** Whether 127.0.0.1:`port` can be listened on now. */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen({ host: "127.0.0.1", port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** The port to ask for: the recorded one when free (`reused`), else 0 (any). */
export async function choosePort(
  registryDir: string,
): Promise<{ port: number; previous: number | null; reused: boolean }> {
  const previous = recordedPort(registryDir);
  if (previous !== null && (await portFree(previous))) return { port: previous, previous, reused: true };
  return { port: 0, previous, reused: false };
}
