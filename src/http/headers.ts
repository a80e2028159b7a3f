/**
 * Reading header values as Node and undici give them (a header sent more than
 * once is an array). Pure.
 */

/** The first value of a header (undefined when absent). */
export function firstHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Every value of a header as one comma-separated list (`Link` may come in several headers). */
export function joinedHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(", ") : v;
}
