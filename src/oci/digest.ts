/** The sha256 digest of bytes, as the API spells digests (`sha256:<hex>`). Pure. */
import { createHash } from "node:crypto";

export function sha256Digest(bytes: Buffer | Uint8Array | string): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}
