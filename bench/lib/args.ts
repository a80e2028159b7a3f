/**
 * Command-line options of the bench scripts: `--name value` pairs and bare flags,
 * read from `process.argv` (after the script).
 */
const argv = process.argv.slice(2);

/** The value after `name`, or `def` when the option is absent. */
export function option(name: string, def: string): string {
  const i = argv.indexOf(name);
  return i === -1 ? def : (argv[i + 1] ?? def);
}

/** A numeric option. */
export function numberOption(name: string, def: number): number {
  return Number(option(name, String(def)));
}

/** Every value given for a repeatable option. */
export function options(name: string): string[] {
  return argv.flatMap((a, i) => (a === name && argv[i + 1] ? [argv[i + 1]!] : []));
}

/** Whether a bare flag is present. */
export function flag(name: string): boolean {
  return argv.includes(name);
}
