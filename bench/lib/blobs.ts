/**
 * Blob transfers with curl (a C client: cheap per byte, so it takes little of
 * the 2 cores from the registry and the proxy). The blob is a file of random
 * bytes; pushes are the registry's two-step upload (POST, then one PUT of the
 * whole body with `?digest=`), pulls a GET written to /dev/null.
 */
import { spawnSync } from "node:child_process";
import { createHash, randomFillSync } from "node:crypto";
import { closeSync, openSync, writeSync } from "node:fs";
import http from "node:http";
import { runChild } from "./run-child.js";

export interface BlobFile {
  path: string;
  size: number;
  digest: string;
}

/** Writes `mib` MiB of random bytes to `path` (16 MiB of randomness repeated) and hashes them. */
export function writeBlobFile(path: string, mib: number): BlobFile {
  const chunk = randomFillSync(Buffer.alloc(16 * 1024 * 1024));
  const size = mib * 1024 * 1024;
  const hash = createHash("sha256");
  const fd = openSync(path, "w");
  try {
    for (let off = 0; off < size; off += chunk.length) {
      const part = chunk.subarray(0, Math.min(chunk.length, size - off));
      // A different first byte per chunk, so the file does not repeat itself.
      part[0] = (off / chunk.length) & 0xff;
      writeSync(fd, part);
      hash.update(part);
    }
  } finally {
    closeSync(fd);
  }
  return { path, size, digest: `sha256:${hash.digest("hex")}` };
}

export function curlVersion(): string | null {
  const r = spawnSync("curl", ["--version"], { encoding: "utf8" });
  return r.error ? null : r.stdout.split("\n")[0]!.split(" ").slice(0, 2).join(" ");
}

interface CurlResult {
  status: number;
  bytes: number;
  seconds: number;
}

function curl(args: string[]): Promise<CurlResult> {
  const all = ["-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download} %{time_total}", ...args];
  return runChild("curl", all).then(({ code, out }) => {
    const m = /(\d{3}) (\d+) ([\d.]+)\s*$/.exec(out);
    if (code !== 0 || !m) throw new Error(`curl ${args.join(" ")} failed (${code}): ${out}`);
    return { status: Number(m[1]), bytes: Number(m[2]), seconds: Number(m[3]) };
  });
}

/** Starts an upload session; returns the PUT URL for the finished blob. */
function startUpload(base: string, repo: string, digest: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}/v2/${repo}/blobs/uploads/`, { method: "POST" }, (res) => {
      res.resume();
      const loc = res.headers.location;
      if (res.statusCode !== 202 || !loc) return reject(new Error(`POST upload: ${res.statusCode}`));
      const u = new URL(loc, base);
      u.searchParams.set("digest", digest);
      // The Location names the origin the client used (the proxy or nginx): keep using `base`.
      resolve(`${base}${u.pathname}${u.search}`);
    });
    req.once("error", reject);
    req.end();
  });
}

/** Pushes the blob file to `repo`; returns MiB/s of the PUT that carries the body. */
export async function pushBlob(base: string, repo: string, blob: BlobFile): Promise<number> {
  const url = await startUpload(base, repo, blob.digest);
  const r = await curl([
    "-X",
    "PUT",
    "-T",
    blob.path,
    "-H",
    "Content-Type: application/octet-stream",
    // Go clients (docker, podman, skopeo) send no Expect: 100-continue; nor do we.
    "-H",
    "Expect:",
    url,
  ]);
  if (r.status !== 201) throw new Error(`PUT blob through ${base}: ${r.status}`);
  return blob.size / 1024 / 1024 / r.seconds;
}

/** Pulls the blob from `repo`; returns MiB/s. */
export async function pullBlob(base: string, repo: string, blob: BlobFile): Promise<number> {
  const r = await curl([`${base}/v2/${repo}/blobs/${blob.digest}`]);
  if (r.status !== 200 || r.bytes !== blob.size) {
    throw new Error(`GET blob through ${base}: ${r.status}, ${r.bytes} bytes`);
  }
  return blob.size / 1024 / 1024 / r.seconds;
}
