/**
 * Release checks on what would really be published: each package is packed with `pnpm pack`
 * (the same command `changeset publish` -> `pnpm publish` uses, so `publishConfig` overrides and
 * `workspace:` rewriting are applied), and the tarball, not the source tree, is inspected.
 * Used by `tools/release.ts` (before `changeset publish` or a dry run) and by its test.
 */
import { createReadStream, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { readTar } from "@talos-ext/spec";
import { execa } from "execa";

/** A workspace package that is published (not `private`). */
export interface PublishablePackage {
  /** `@talos-ext/…` */
  name: string;
  /** Version in its package.json (what `changeset publish` would publish). */
  version: string;
  /** Absolute directory of the package. */
  dir: string;
}

/** A package packed into a tarball, with what the tarball holds. */
export interface PackedPackage {
  /** The package that was packed. */
  pkg: PublishablePackage;
  /** Absolute path of the `.tgz`. */
  tarball: string;
  /** Paths inside the tarball, relative to its `package/` root. */
  files: Set<string>;
  /** The package.json inside the tarball (what consumers and the registry see). */
  manifest: Record<string, unknown>;
  /** The other JSON files at the tarball's root (e.g. an Nx plugin's generators.json), parsed. */
  rootJson: Map<string, unknown>;
}

/** The publishable packages under `<root>/packages`, sorted by name. */
export function publishablePackages(root: string): PublishablePackage[] {
  const out: PublishablePackage[] = [];
  const packagesDir = join(root, "packages");
  for (const entry of readdirSync(packagesDir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const dir = join(packagesDir, entry.name);
    let manifest: { name?: string; version?: string; private?: boolean };
    try {
      manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    } catch {
      continue;
    }
    if (manifest.private || !manifest.name || !manifest.version) continue;
    out.push({ name: manifest.name, version: manifest.version, dir });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** Packs `dir` into `outDir` with `pnpm pack` and reads the tarball back. */
export async function packPackage(pkg: PublishablePackage, outDir: string): Promise<PackedPackage> {
  const r = await execa("pnpm", ["pack", "--json", "--pack-destination", outDir], {
    cwd: pkg.dir,
    env: { ...process.env, NO_COLOR: "1" },
  });
  // pnpm prints lifecycle output before the JSON document: take the last `{` at a line start.
  const start = r.stdout.lastIndexOf("\n{");
  const json = JSON.parse(start === -1 ? r.stdout : r.stdout.slice(start + 1)) as { filename: string };
  return readPackedTarball(pkg, json.filename);
}

/** Reads a `.tgz` made by `npm pack` / `pnpm pack`: its file list and its package.json. */
export async function readPackedTarball(pkg: PublishablePackage, tarball: string): Promise<PackedPackage> {
  const files = new Set<string>();
  const rootJson = new Map<string, unknown>();
  for await (const entry of readTar(createReadStream(tarball), { source: tarball })) {
    if (entry.type !== "file") continue;
    // npm and pnpm put everything under `package/`.
    const rel = entry.path.replace(/^package\//, "");
    files.add(rel);
    if (!rel.includes("/") && rel.endsWith(".json"))
      rootJson.set(rel, JSON.parse(new TextDecoder().decode(await entry.bytes())));
  }
  const manifest = rootJson.get("package.json") as Record<string, unknown> | undefined;
  if (!manifest) throw new Error(`${tarball}: no package/package.json in the tarball`);
  rootJson.delete("package.json");
  return { pkg, tarball, files, manifest, rootJson };
}

const DEPENDENCY_FIELDS = ["dependencies", "peerDependencies", "optionalDependencies", "devDependencies"];

/** Export targets, with the condition path that leads to each (`.` > `import`). */
function* exportTargets(value: unknown, path: string[]): Generator<{ path: string[]; target: string }> {
  if (typeof value === "string") yield { path, target: value };
  else if (Array.isArray(value)) for (const v of value) yield* exportTargets(v, path);
  else if (value && typeof value === "object")
    for (const [k, v] of Object.entries(value)) yield* exportTargets(v, [...path, k]);
}

/** Condition objects (keys not starting with `.`) anywhere in `exports`. */
function* conditionObjects(value: unknown, path: string[]): Generator<{ path: string[]; keys: string[] }> {
  if (!value || typeof value !== "object" || Array.isArray(value)) return;
  const keys = Object.keys(value);
  if (keys.length > 0 && !keys[0]!.startsWith(".")) yield { path, keys };
  for (const [k, v] of Object.entries(value)) yield* conditionObjects(v, [...path, k]);
}

/** Whether a target of the package (`./dist/x.js`, possibly with one `*`) is in the tarball. */
function targetPacked(files: Set<string>, target: string): boolean {
  const rel = target.replace(/^\.\//, "");
  if (!rel.includes("*")) return files.has(rel);
  const [prefix, suffix] = rel.split("*") as [string, string];
  return [...files].some((f) => f.startsWith(prefix) && f.endsWith(suffix));
}

/**
 * What is wrong with a packed package, as sentences (empty: ready to publish). These are the
 * faults publint and attw do not catch, or catch only on the source tree: a `development`
 * condition or a `src/*.ts` target left in the published manifest, an unrewritten `workspace:`
 * range, a target missing from `files`, the license text, and the metadata the registry and npm need.
 */
export function packedProblems(packed: PackedPackage): string[] {
  const m = packed.manifest;
  const problems: string[] = [];
  const need = (field: string, ok: boolean, what: string) => {
    if (!ok) problems.push(`${field}: ${what}`);
  };
  need("name", m.name === packed.pkg.name, `expected ${packed.pkg.name}, packed ${String(m.name)}`);
  need("version", m.version === packed.pkg.version, `expected ${packed.pkg.version}`);
  need("type", m.type === "module", `must be "module" (the packages are ESM-only)`);
  need("license", typeof m.license === "string" && m.license.length > 0, "missing");
  // MPL-2.0 travels with the code: npm and pnpm always pack a LICENSE file that exists.
  need(
    "LICENSE",
    [...packed.files].some((f) => /^licen[cs]e(\.md|\.txt)?$/i.test(f)),
    "no license text in the tarball",
  );
  const repo = m.repository as { url?: unknown; directory?: unknown } | undefined;
  need("repository", typeof repo?.url === "string", "missing repository.url");
  need("repository.directory", typeof repo?.directory === "string", "missing (the package's folder)");
  const engines = m.engines as { node?: unknown } | undefined;
  need("engines.node", typeof engines?.node === "string", "missing");
  need("files", Array.isArray(m.files) && m.files.length > 0, "missing: say what is published");
  need("types", typeof m.types === "string", "missing");
  if (typeof m.types === "string")
    need("types", targetPacked(packed.files, m.types), `${m.types} is not in the tarball`);
  if (typeof m.main === "string")
    need("main", targetPacked(packed.files, m.main), `${m.main} is not in the tarball`);

  const exportsField = m.exports as Record<string, unknown> | undefined;
  need("exports", !!exportsField && typeof exportsField === "object", "missing");
  if (exportsField && typeof exportsField === "object") {
    const root = exportsField["."] as Record<string, unknown> | undefined;
    need('exports["."]', typeof root?.types === "string", "needs a types condition");
    need('exports["."]', typeof root?.import === "string", "needs an import condition");
    for (const { path, target } of exportTargets(exportsField, [])) {
      const where = `exports ${path.join(" > ")}`;
      if (path.includes("development"))
        problems.push(`${where}: the development condition is published (it is for this workspace only)`);
      if (/^\.\/src\//.test(target) || (/\.[cm]?ts$/.test(target) && !/\.d\.[cm]?ts$/.test(target)))
        problems.push(`${where}: points at source (${target}), which consumers cannot load`);
      if (!targetPacked(packed.files, target)) problems.push(`${where}: ${target} is not in the tarball`);
    }
    for (const { path, keys } of conditionObjects(exportsField, [])) {
      // TypeScript takes the first matching condition: `types` after `import` is never read.
      if (keys.includes("types") && keys[0] !== "types")
        problems.push(`exports ${path.join(" > ")}: "types" must be the first condition`);
    }
  }

  const bin = m.bin;
  const bins = typeof bin === "string" ? { [String(m.name)]: bin } : ((bin ?? {}) as Record<string, string>);
  for (const [command, target] of Object.entries(bins))
    need(`bin.${command}`, targetPacked(packed.files, target), `${target} is not in the tarball`);

  // An Nx plugin's generators: Nx resolves `factory` (extension optional) and `schema` in the package.
  if (typeof m.generators === "string") {
    const file = m.generators.replace(/^\.\//, "");
    const collection = packed.rootJson.get(file) as
      | { generators?: Record<string, { factory?: string; schema?: string }> }
      | undefined;
    if (!collection) problems.push(`generators: ${m.generators} is not in the tarball`);
    for (const [name, g] of Object.entries(collection?.generators ?? {})) {
      const factory = (g.factory ?? "").split(":")[0]!;
      if (!targetPacked(packed.files, factory) && !targetPacked(packed.files, `${factory}.js`))
        problems.push(`generators.${name}.factory: ${g.factory} is not in the tarball`);
      if (g.schema && !targetPacked(packed.files, g.schema))
        problems.push(`generators.${name}.schema: ${g.schema} is not in the tarball`);
    }
  }

  for (const field of DEPENDENCY_FIELDS) {
    for (const [dep, range] of Object.entries((m[field] ?? {}) as Record<string, string>)) {
      if (range.startsWith("workspace:") || range.startsWith("link:") || range.startsWith("file:"))
        problems.push(`${field}.${dep}: "${range}" was not rewritten to a registry range`);
    }
  }
  for (const f of packed.files) {
    if (/^(src|test)\//.test(f) || f.endsWith(".test.js") || f.endsWith(".test.ts"))
      problems.push(`files: ${f} is published (sources and tests stay in the repository)`);
  }
  return problems;
}

/** Result of one external linter on a tarball. */
export interface LintResult {
  /** Which linter ran. */
  tool: "publint" | "attw";
  /** Whether it passed. */
  ok: boolean;
  /** Its output (shown when it fails). */
  output: string;
}

/** publint on the tarball, warnings counted as errors. */
export async function runPublint(tarball: string, cwd: string): Promise<LintResult> {
  const r = await execa("pnpm", ["exec", "publint", "run", tarball, "--strict"], {
    cwd,
    reject: false,
    all: true,
    env: { ...process.env, NO_COLOR: "1" },
  });
  // publint exits 0 on suggestions (--strict only makes warnings fail): clean means "All good!".
  const output = r.all ?? "";
  return { tool: "publint", ok: r.exitCode === 0 && output.includes("All good!"), output };
}

/**
 * are-the-types-wrong on the tarball with the `esm-only` profile: the packages have no `require`
 * condition on purpose (ESM-only, Node >= 24, which can `require()` ESM), so the node10 and
 * node16-from-CJS resolutions are not targets; node16-from-ESM and bundler must be clean.
 */
export async function runAttw(tarball: string, cwd: string): Promise<LintResult> {
  const r = await execa(
    "pnpm",
    [
      "exec",
      "attw",
      tarball,
      "--profile",
      "esm-only",
      "--no-definitely-typed",
      "--format",
      "table-flipped",
      "--no-emoji",
    ],
    { cwd, reject: false, all: true, env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" } },
  );
  return { tool: "attw", ok: r.exitCode === 0, output: r.all ?? "" };
}
