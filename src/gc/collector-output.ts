/**
 * What the registry's `garbage-collect` says, counted: 2.8 prints a line per
 * repository, per manifest and blob it marks (`app: marking blob sha256:…`), a
 * tally (`16 blobs marked, 1 blobs and 0 manifests eligible for deletion`), a line
 * per blob eligible, and a log line per blob it deletes (`msg="Deleting blob: …"`).
 * Pure: chunks in (split anywhere), counts out.
 */

export interface CollectorCounts {
  /** Lines seen (complete ones). */
  lines: number;
  manifestsMarked: number;
  blobsMarked: number;
  /** From the tally line, once it came (null before). */
  blobsEligible: number | null;
  manifestsEligible: number | null;
  blobsDeleted: number;
  manifestsDeleted: number;
}

export interface CollectorReader {
  /** Takes a chunk of output; returns the complete lines it finished. */
  push(chunk: string): string[];
  readonly counts: CollectorCounts;
}

const TALLY = /(\d+) blobs marked, (\d+) blobs and (\d+) manifests eligible for deletion/;

export function createCollectorReader(): CollectorReader {
  const counts: CollectorCounts = {
    lines: 0,
    manifestsMarked: 0,
    blobsMarked: 0,
    blobsEligible: null,
    manifestsEligible: null,
    blobsDeleted: 0,
    manifestsDeleted: 0,
  };
  let partial = "";
  const read = (line: string) => {
    counts.lines++;
    if (/: marking manifest /.test(line)) counts.manifestsMarked++;
    else if (/: marking blob /.test(line)) counts.blobsMarked++;
    else if (/Deleting blob: /.test(line)) counts.blobsDeleted++;
    else if (/Deleting manifest: |deleting manifest: /.test(line)) counts.manifestsDeleted++;
    const tally = TALLY.exec(line);
    if (tally) {
      counts.blobsEligible = Number(tally[2]);
      counts.manifestsEligible = Number(tally[3]);
    }
  };
  return {
    counts,
    push(chunk) {
      const parts = (partial + chunk).split("\n");
      partial = parts.pop() ?? "";
      for (const line of parts) read(line);
      return parts;
    },
  };
}
