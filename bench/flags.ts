// The bench scripts' one command-line helper: `--name VALUE` pairs after `npm run bench -- NAME`.

/** The value after `--name` in `args`, or undefined when the flag is absent. */
export function flag(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}
