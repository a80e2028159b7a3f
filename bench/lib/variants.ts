/**
 * The processes a sidecar run compares, as `--variant NAME=ITEM,ITEM,...`: an item
 * starting with `--` is a Node flag, `K=V` an environment variable, `bare` makes the
 * variant the bare http-proxy-3 forward (bench/bare/) instead of the proxy, and
 * `cli:FILE` runs another build of the proxy (`node FILE serve`; before/after runs),
 * `bare:FILE` another bare forward (`node FILE`, reading UPSTREAM_URL, PORT, HOST).
 *   --variant proxy=  --variant semi4=--max-semi-space-size=4,MALLOC_ARENA_MAX=2
 *   --variant before=cli:/tmp/before/dist/cli.js
 */
export interface Variant {
  name: string;
  bare: boolean;
  nodeArgs: string[];
  env: Record<string, string>;
  /** Another build's cli.js, or null for this tree's dist/cli.js. */
  cli: string | null;
  /** The bare forward's script, or null for bench/bare/http-proxy-3.cjs. */
  bareScript: string | null;
}

export function parseVariants(specs: readonly string[]): Variant[] {
  return specs.map((spec) => {
    const eq = spec.indexOf("=");
    if (eq <= 0) throw new Error(`--variant NAME=ITEMS, got ${spec}`);
    const v: Variant = {
      name: spec.slice(0, eq),
      bare: false,
      nodeArgs: [],
      env: {},
      cli: null,
      bareScript: null,
    };
    for (const item of spec
      .slice(eq + 1)
      .split(",")
      .filter(Boolean)) {
      if (item === "bare") v.bare = true;
      else if (item.startsWith("cli:")) v.cli = item.slice(4);
      else if (item.startsWith("bare:")) {
        v.bare = true;
        v.bareScript = item.slice(5);
      } else if (item.startsWith("--")) v.nodeArgs.push(item);
      else {
        const i = item.indexOf("=");
        if (i <= 0) throw new Error(`--variant ${spec}: ${item} is neither --flag, K=V nor bare`);
        v.env[item.slice(0, i)] = item.slice(i + 1);
      }
    }
    return v;
  });
}
