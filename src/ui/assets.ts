/**
 * The UI's static files (stylesheet, script, icon), served by the proxy itself
 * from `assets/` beside this module (the build copies them next to the compiled
 * code): read once when the UI is created, answered with an ETag so browsers
 * revalidate cheaply. Nothing is loaded from anywhere else.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";

const TYPES: Readonly<Record<string, string>> = {
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".svg": "image/svg+xml",
};

export interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

/** The folder the assets are read from (src/ui/assets, or dist/ui/assets once built). */
export const ASSETS_DIR = fileURLToPath(new URL("./assets/", import.meta.url));

/**
 * Every asset of `dir` by file name (only the types above). A build without them
 * (compiled without `npm run build`) gets none: the pages still work, unstyled
 * and without the script, and `onMissing` says why.
 */
export function loadAssets(
  dir: string = ASSETS_DIR,
  onMissing: (err: Error) => void = () => undefined,
): ReadonlyMap<string, Asset> {
  const assets = new Map<string, Asset>();
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch (err) {
    onMissing(err as Error);
    return assets;
  }
  for (const file of files) {
    const type = TYPES[extname(file)];
    if (type === undefined) continue;
    const body = readFileSync(join(dir, file));
    const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`;
    assets.set(file, { body, type, etag });
  }
  return assets;
}

/** The answer to a GET of `asset` (304 when the browser's copy is current). */
export function assetResponse(asset: Asset, ifNoneMatch: string | undefined): Response {
  const headers = {
    "content-type": asset.type,
    etag: asset.etag,
    "cache-control": "public, max-age=300",
    "x-content-type-options": "nosniff",
  };
  if (ifNoneMatch === asset.etag) return new Response(null, { status: 304, headers });
  return new Response(new Uint8Array(asset.body), { status: 200, headers });
}
