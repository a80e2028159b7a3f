/**
 * The web UI in tests over plain HTTP: pages as a browser asks for them, the
 * hooks the pages carry (`data-testid`), the delete and put-back forms posted
 * as a browser posts them, and content with hostile free text.
 */

import { type Res, request } from "./http.js";
import { blobOf, type Image, makeImage } from "./oci.js";

/** A browser's Accept for a navigation. */
export const BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/** Free text meant to break out of HTML text, attributes, scripts and URLs. */
export const HOSTILE = [
  "<script>alert('x')</script>",
  '"><img src=x onerror=alert(1)>',
  "' onmouseover='alert(2)",
  "javascript:alert(3)",
  "</td></tr></table><h1>owned</h1>",
  "&lt;already-escaped&gt; &amp;",
] as const;

export function uiGet(base: string, path: string, headers: Record<string, string> = {}): Promise<Res> {
  return request("GET", `${base}${path}`, { headers: { accept: BROWSER_ACCEPT, ...headers } });
}

/**
 * A form POST to the UI as a browser sends it from the proxy's own page (Origin: the
 * proxy); `headers` override those, an undefined value leaves that header out.
 */
export function postForm(
  base: string,
  path: string,
  form: Record<string, string>,
  headers: Record<string, string | undefined> = {},
): Promise<Res> {
  const h: Record<string, string> = {
    accept: BROWSER_ACCEPT,
    "content-type": "application/x-www-form-urlencoded",
    origin: base,
  };
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) delete h[k];
    else h[k] = v;
  }
  return request("POST", `${base}${path}`, { headers: h, body: new URLSearchParams(form).toString() });
}

/** The delete form as a browser posts it from the proxy's own page (Origin: the proxy). */
export function postDelete(
  base: string,
  name: string,
  tag: string,
  digest: string,
  headers: Record<string, string | undefined> = {},
): Promise<Res> {
  return postForm(base, `/ui/r/${name}/_tags/${tag}/_delete`, { digest }, headers);
}

/** The put-back form as a browser posts it: the digest to put back, the one the tag pointed at when confirmed ("": none). */
export function postUndelete(
  base: string,
  name: string,
  tag: string,
  form: { digest: string; current: string },
  headers: Record<string, string | undefined> = {},
): Promise<Res> {
  return postForm(base, `/ui/r/${name}/_tags/${tag}/_undelete`, form, headers);
}

/** The values of `attribute` on the elements carrying `data-testid="<testid>"`, in page order. */
export function hooks(html: string, testid: string, attribute: string): string[] {
  const out: string[] = [];
  for (const m of html.matchAll(new RegExp(`<[a-z]+ [^>]*data-testid="${testid}"[^>]*>`, "g"))) {
    const a = new RegExp(`${attribute}="([^"]*)"`).exec(m[0]);
    if (a) out.push(a[1]!);
  }
  return out;
}

/** The tags of the tag rows on a page. */
export function tagRows(html: string): string[] {
  return hooks(html, "tag-row", "data-tag");
}

/** The HTML of one tag's row. */
export function rowOf(html: string, tag: string): string {
  const start = html.indexOf(`data-testid="tag-row" data-tag="${tag}"`);
  if (start === -1) throw new Error(`no row for ${tag}`);
  return html.slice(start, html.indexOf("</tr>", start));
}

/** The next page's link of a page, or null. */
export function nextLink(html: string): string | null {
  const m = /<a href="([^"]+)" rel="next">/.exec(html);
  return m ? m[1]!.replaceAll("&amp;", "&") : null;
}

/** An image whose manifest and config carry hostile annotations and labels. */
export function hostileImage(): Image {
  const image = makeImage({ layerCount: 1 });
  const annotations = Object.fromEntries(HOSTILE.map((v, i) => [`org.example.hostile.${i}`, v]));
  (annotations as Record<string, string>)[HOSTILE[0]] = "key too";
  const configDoc = JSON.parse(image.config.bytes.toString()) as Record<string, unknown>;
  configDoc["config"] = { Labels: annotations };
  const config = blobOf(Buffer.from(JSON.stringify(configDoc)));
  const doc = JSON.parse(image.manifest.bytes.toString()) as Record<string, unknown>;
  doc["config"] = { ...(doc["config"] as object), digest: config.digest, size: config.size };
  doc["annotations"] = annotations;
  return { ...image, config, manifest: blobOf(Buffer.from(JSON.stringify(doc))) };
}
