/**
 * Test support: checks a package's error-code registry against its source and against
 * docs/error-codes.md, so the docs can neither miss a code nor list one that is never emitted.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const DOCS = fileURLToPath(new URL("../docs/error-codes.md", import.meta.url));

/** Every code with a row in docs/error-codes.md. */
export function documentedCodes(): Set<string> {
  const out = new Set<string>();
  for (const m of readFileSync(DOCS, "utf8").matchAll(/^\| `([A-Z][A-Z0-9]*_[A-Z0-9_]+)` \|/gm))
    out.add(m[1]!);
  return out;
}

/** The prefixes (`YAML`, `OCI`, …) our codes use: a literal with one of them is a code. */
function prefixes(): Set<string> {
  return new Set([...documentedCodes()].map((c) => c.slice(0, c.indexOf("_"))));
}

function* sourceFiles(dir: string, registry: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* sourceFiles(p, registry);
    else if (e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") && p !== registry) yield p;
  }
}

/** Code-like string literals in a package's source (tests and the registry itself excluded). */
export function codeLiterals(srcDir: string): Map<string, string> {
  const known = prefixes();
  const out = new Map<string, string>();
  for (const file of sourceFiles(srcDir, join(srcDir, "codes.ts"))) {
    for (const m of readFileSync(file, "utf8").matchAll(/"([A-Z][A-Z0-9]*_[A-Z0-9_]+)"/g)) {
      const code = m[1]!;
      if (known.has(code.slice(0, code.indexOf("_"))) && !out.has(code)) out.set(code, file);
    }
  }
  return out;
}

/**
 * What is wrong with a registry: codes in the source that no registry the package may use lists
 * (`others` are the registries of its dependencies), and registry codes the docs do not list.
 */
export function registryProblems(
  srcDir: string,
  own: readonly string[],
  others: readonly string[] = [],
): { unregistered: string[]; undocumented: string[] } {
  const allowed = new Set([...own, ...others]);
  const docs = documentedCodes();
  return {
    unregistered: [...codeLiterals(srcDir)].filter(([c]) => !allowed.has(c)).map(([c, f]) => `${c} (${f})`),
    undocumented: own.filter((c) => !docs.has(c)),
  };
}
