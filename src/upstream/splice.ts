/** Placeholder until the splice(2) addon lands (branch `splice`). */
import type { Socket } from "node:net";

export function spliceAvailable(): boolean {
  return false;
}

export function spliceBody(
  _from: Socket,
  _to: Socket,
  _length: number,
  _o: { idleTimeoutMs: number },
): Promise<number> {
  return Promise.reject(new Error("splice is not available"));
}
