/**
 * Small helpers to emit Dockerfile instructions whose values stay literal, the way bldr's LLB
 * keeps them (LLB does no `$VAR` expansion; Dockerfile ENV/COPY do).
 */

/** `"value"` for ENV: backslashes, quotes and `$` escaped so the value is taken literally. */
export function quoteEnv(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\$/g, "\\$").replace(/\n/g, "\\n")}"`;
}

/** JSON exec form (`["a","b"]`): no shell, no variable expansion. */
export function execForm(argv: string[]): string {
  return JSON.stringify(argv);
}

/** A path in COPY: Dockerfile expands `$` in COPY paths, so escape it; spaces need JSON form. */
export function copyInstruction(flags: string[], src: string, dest: string): string {
  const needsJson = /[\s"]/.test(src) || /[\s"]/.test(dest);
  const esc = (p: string) => p.replace(/\$/g, "\\$");
  const paths = needsJson ? JSON.stringify([esc(src), esc(dest)]) : `${esc(src)} ${esc(dest)}`;
  return ["COPY", ...flags, paths].join(" ");
}

/** Stage names must be lower-case letters, digits, `-`, `_` and `.`, starting with a letter. */
export function stageName(...parts: string[]): string {
  return parts
    .join("-")
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, "-")
    .replace(/^[^a-z]+/, "s-");
}
