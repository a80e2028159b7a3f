/**
 * bcrypt htpasswd files for the registry's Basic auth (distribution only
 * accepts bcrypt), written with the `htpasswd -B` CLI from apache2-utils.
 * Passwords go through stdin, never the command line.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireTools } from "./prereq.js";

export interface Htpasswd {
  /** The file to pass as `startRegistry({ htpasswdFile })`. */
  readonly file: string;
  /** `Basic base64(user:password)` for a user of this file (any password for wrong-password tests). */
  basic(user: string, password?: string): string;
  /** `user:password`, for skopeo `--creds` / podman `--creds`. */
  creds(user: string, password?: string): string;
  /** Adds or replaces a user. */
  add(user: string, password: string): void;
  cleanup(): void;
}

/** Folders not cleaned up by their test: removed when the test process exits. */
const folders = new Set<string>();
process.once("exit", () => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

/** Creates an htpasswd file holding `users` (name → password) in a fresh temporary folder. */
export function createHtpasswd(users: Readonly<Record<string, string>>): Htpasswd {
  requireTools("htpasswd");
  const dir = mkdtempSync(join(tmpdir(), "rcp-htpasswd-"));
  folders.add(dir);
  const file = join(dir, "htpasswd");
  const passwords = new Map<string, string>();
  let created = false;

  function add(user: string, password: string): void {
    // -i: password from stdin; -c only for the first user (it truncates the file).
    execFileSync("htpasswd", [created ? "-iB" : "-ciB", file, user], { input: `${password}\n` });
    created = true;
    passwords.set(user, password);
  }

  for (const [user, password] of Object.entries(users)) add(user, password);
  if (!created) execFileSync("touch", [file]);

  const pw = (user: string, password?: string): string => {
    const p = password ?? passwords.get(user);
    if (p === undefined) throw new Error(`htpasswd: unknown user ${user}`);
    return p;
  };
  return {
    file,
    basic: (user, password) => `Basic ${Buffer.from(`${user}:${pw(user, password)}`).toString("base64")}`,
    creds: (user, password) => `${user}:${pw(user, password)}`,
    add,
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
      folders.delete(dir);
    },
  };
}
