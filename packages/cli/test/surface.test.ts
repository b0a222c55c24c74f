/**
 * Public surfaces: each package's index.ts lists its exports by name, and no two packages export
 * different things under one name (spec's `Compression` vs image's, say, was a trap for users).
 */
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";

const packages = fileURLToPath(new URL("../../", import.meta.url));
const indexOf = (p: string) => readFileSync(`${packages}${p}/src/index.ts`, "utf8");
const names = readdirSync(packages).filter((p) => {
  try {
    indexOf(p);
    return true;
  } catch {
    return false;
  }
});

/** The exported names of an index.ts made only of `export { … } from` lists. */
function exported(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)) {
    for (const part of m[1]!.split(",")) {
      const name = part
        .replace(/\/\/.*$/gm, "")
        .trim()
        .replace(/^type\s+/, "")
        .split(/\s+as\s+/)
        .pop()!
        .trim();
      if (name) out.add(name);
    }
  }
  return out;
}

test("every package's index.ts lists its exports by name", () => {
  expect(names.length).toBeGreaterThanOrEqual(5);
  for (const p of names) expect({ p, star: /export \*/.test(indexOf(p)) }).toEqual({ p, star: false });
});

test("no name is exported by two packages", () => {
  const owner = new Map<string, string>();
  const clashes: string[] = [];
  for (const p of names) {
    for (const n of exported(indexOf(p))) {
      const first = owner.get(n);
      if (first) clashes.push(`${n}: ${first} and ${p}`);
      else owner.set(n, p);
    }
  }
  expect(owner.size).toBeGreaterThan(300);
  expect(clashes).toEqual([]);
});
