/**
 * Can the tag delete journal be written here? Checked once at start-up (the proxy
 * refuses to start when not) and again by every readiness probe, so that a proxy
 * whose tag deletes would fail for a local reason (a read-only or root-owned
 * folder, a missing volume) never says it is ready.
 *
 * The start-up check creates the journal (append mode, as the swap opens it) and
 * fsyncs it, then writes, fsyncs and removes a probe file beside it: start-up
 * compaction rewrites the journal through a temporary file in the same folder.
 * The journal's own content is never touched.
 */
import { constants } from "node:fs";
import { access, mkdir, open, unlink } from "node:fs/promises";
import { dirname } from "node:path";

/** The config key and environment variable that choose the journal's path. */
export const JOURNAL_SETTING = "delete.journalPath (env DELETE_JOURNAL)";

export class JournalUnwritableError extends Error {
  override readonly name = "JournalUnwritableError";
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Throws JournalUnwritableError, naming the path and the setting, when the journal cannot be written. */
export async function checkJournalWritable(path: string): Promise<void> {
  const fail = (step: string, err: unknown): never => {
    throw new JournalUnwritableError(
      `the tag delete journal ${path} cannot be written (${step}: ${reason(err)}); ` +
        `set ${JOURNAL_SETTING} to a file in a folder this user (uid ${process.getuid?.() ?? "?"}) can write`,
    );
  };
  try {
    await mkdir(dirname(path), { recursive: true });
  } catch (err) {
    fail("create its folder", err);
  }
  try {
    const fh = await open(path, "a", 0o600);
    try {
      await fh.datasync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    fail("open for append and fsync", err);
  }
  const probe = `${path}.check-${process.pid}`;
  try {
    const fh = await open(probe, "w", 0o600);
    try {
      await fh.write("probe\n");
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await unlink(probe);
  } catch (err) {
    await unlink(probe).catch(() => {});
    fail("write a file beside it", err);
  }
}

/** For readiness: null when the journal and its folder are still writable, else why not. */
export async function journalProblem(path: string): Promise<string | null> {
  try {
    await access(path, constants.W_OK);
    await access(dirname(path), constants.W_OK);
    return null;
  } catch (err) {
    return `tag delete journal ${path} is not writable (${reason(err)})`;
  }
}
