/**
 * The packages as a user gets them: each one is packed with `pnpm pack` (what `changeset publish`
 * publishes), the tarballs alone are installed into an empty project outside the workspace, and
 * the READMEs' imports and examples run there with node and type-check with tsc. It builds
 * nothing: Nx builds every package first (this project's `test` depends on `^build`).
 */
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type PackedPackage,
  packedProblems,
  packPackage,
  publishablePackages,
  readPackedTarball,
  runAttw,
  runPublint,
} from "./release-check.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const packages = publishablePackages(root);
let work: string;
let consumer: string;
const packed: PackedPackage[] = [];

/** Names each package's README imports from `@talos-ext/*`: values and `type` names. */
function readmeImports(): Map<string, { values: Set<string>; types: Set<string> }> {
  const out = new Map<string, { values: Set<string>; types: Set<string> }>();
  for (const pkg of packages) {
    const readme = readFileSync(join(pkg.dir, "README.md"), "utf8");
    for (const m of readme.matchAll(/import\s*\{([^}]*)\}\s*from\s*"(@talos-ext\/[a-z-]+)"/g)) {
      const entry = out.get(m[2]!) ?? { values: new Set(), types: new Set() };
      out.set(m[2]!, entry);
      for (const raw of m[1]!.split(",")) {
        const name = raw.trim();
        if (!name) continue;
        if (name.startsWith("type ")) entry.types.add(name.slice(5).trim());
        else entry.values.add(name);
      }
    }
  }
  return out;
}

async function inConsumer(file: string, code: string): Promise<string> {
  writeFileSync(join(consumer, file), code);
  const r = await execa(process.execPath, [file], { cwd: consumer, reject: false, all: true });
  if (r.exitCode !== 0) throw new Error(`${file} failed:\n${r.all}`);
  return r.stdout;
}

beforeAll(async () => {
  const unbuilt = packages.filter((p) => !existsSync(join(p.dir, "dist")));
  if (unbuilt.length > 0)
    throw new Error(
      `not built: ${unbuilt.map((p) => p.name).join(", ")}; run \`nx run @talos-ext/tools:test\` (it builds them first)`,
    );
  work = mkdtempSync(join(tmpdir(), "talos-ext-release-test-"));
  const tarballs = join(work, "tarballs");
  mkdirSync(tarballs);
  for (const pkg of packages) packed.push(await packPackage(pkg, tarballs));

  // An empty project that knows nothing of the workspace: every @talos-ext package, direct or
  // transitive, comes from its tarball (overrides); everything else from pnpm's store, and from
  // the registry only what the store lacks.
  consumer = join(work, "consumer");
  mkdirSync(consumer);
  const fromTarball = Object.fromEntries(packed.map((p) => [p.pkg.name, `file:${p.tarball}`]));
  writeFileSync(
    join(consumer, "package.json"),
    JSON.stringify({
      name: "consumer",
      private: true,
      type: "module",
      dependencies: fromTarball,
      devDependencies: { "@types/node": "24.19.2" },
    }),
  );
  writeFileSync(
    join(consumer, "pnpm-workspace.yaml"),
    [
      "overrides:",
      ...Object.entries(fromTarball).map(([n, v]) => `  "${n}": "${v}"`),
      // nx (the plugin's peer) has an install script; a consumer does not need it to import us.
      "allowBuilds:",
      "  nx: false",
      "",
    ].join("\n"),
  );
  const install = await execa("pnpm", ["install", "--prefer-offline"], {
    cwd: consumer,
    reject: false,
    all: true,
  });
  if (install.exitCode !== 0) throw new Error(`pnpm install of the tarballs failed:\n${install.all}`);
}, 240_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("published packages", () => {
  it("finds every package", () => {
    expect(packages.map((p) => p.name)).toEqual([
      "@talos-ext/cli",
      "@talos-ext/config",
      "@talos-ext/deploy",
      "@talos-ext/image",
      "@talos-ext/installer",
      "@talos-ext/nx",
      "@talos-ext/spec",
      "@talos-ext/talosctl",
    ]);
  });

  it("packs each one complete, with a publishable manifest", () => {
    const report = Object.fromEntries(packed.map((p) => [p.pkg.name, packedProblems(p)]));
    expect(report).toEqual(Object.fromEntries(packed.map((p) => [p.pkg.name, []])));
    for (const p of packed) {
      // pack rewrote workspace:^ to the sibling's real version
      for (const [dep, range] of Object.entries((p.manifest.dependencies ?? {}) as Record<string, string>))
        if (dep.startsWith("@talos-ext/"))
          expect(range).toBe(`^${packages.find((q) => q.name === dep)!.version}`);
    }
  });

  it("is clean for publint and are-the-types-wrong (esm-only profile)", async () => {
    const failures: string[] = [];
    for (const p of packed) {
      for (const r of await Promise.all([runPublint(p.tarball, root), runAttw(p.tarball, root)]))
        if (!r.ok) failures.push(`${p.pkg.name} ${r.tool}:\n${r.output}`);
    }
    expect(failures).toEqual([]);
  }, 300_000);

  it("installs from the tarballs, not from the workspace", () => {
    for (const p of packed) {
      const dir = join(consumer, "node_modules", p.pkg.name);
      expect(lstatSync(dir).isSymbolicLink() ? realpathSync(dir) : dir).not.toContain(`${root}packages`);
      expect(existsSync(join(dir, "src"))).toBe(false);
    }
  });

  it("exports at run time every name the READMEs import", async () => {
    const imports = readmeImports();
    const wanted = Object.fromEntries([...imports].map(([pkg, { values }]) => [pkg, [...values]]));
    const out = await inConsumer(
      "runtime-names.mjs",
      `const wanted = ${JSON.stringify(wanted)};
const missing = {};
for (const [pkg, names] of Object.entries(wanted)) {
  const m = await import(pkg);
  missing[pkg] = names.filter((n) => !(n in m));
}
console.log(JSON.stringify(missing));`,
    );
    expect(JSON.parse(out)).toEqual(Object.fromEntries(Object.keys(wanted).map((k) => [k, []])));
    // every package's README shows its API
    expect([...imports.keys()].sort()).toEqual(expect.arrayContaining(packages.map((p) => p.name)));
  });

  it("type-checks the READMEs' imports against the published types (node16 ESM)", async () => {
    const lines: string[] = [];
    const used: string[] = [];
    let i = 0;
    for (const [pkg, { values, types }] of readmeImports()) {
      const specifiers = [
        ...[...values].map((n) => `${n} as v${i}_${n}`),
        ...[...types].map((n) => `type ${n} as t${i}_${n}`),
      ];
      lines.push(`import { ${specifiers.join(", ")} } from "${pkg}";`);
      used.push(...[...values].map((n) => `v${i}_${n}`));
      lines.push(...[...types].map((n) => `export type T${i}_${n} = t${i}_${n};`));
      i++;
    }
    lines.push(`export const used = [${used.join(", ")}];`);
    writeFileSync(join(consumer, "readme-imports.ts"), `${lines.join("\n")}\n`);
    writeFileSync(
      join(consumer, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          module: "node16",
          moduleResolution: "node16",
          target: "es2024",
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ["node"],
        },
        files: ["readme-imports.ts"],
      }),
    );
    const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
    const r = await execa(process.execPath, [tsc, "-p", "tsconfig.json"], {
      cwd: consumer,
      reject: false,
      all: true,
    });
    expect(r.all).toBe("");
    expect(r.exitCode).toBe(0);
  }, 60_000);

  it("runs README examples as documented", async () => {
    const out = await inConsumer(
      "readme-examples.mjs",
      `import { formatFactoryInstallerRef, schematicId } from "@talos-ext/installer";
import { renderTemplate } from "@talos-ext/spec";
const id = schematicId({
  customization: { systemExtensions: { officialExtensions: ["siderolabs/iscsi-tools", "siderolabs/util-linux-tools"] } },
});
const ref = formatFactoryInstallerRef({ schematicId: id, version: "v1.11.2", platform: "aws" });
const { output } = renderTemplate('image: "{{ .PREFIX }}/tools:{{ .TOOLS | default "v1.13.0" }}"', { PREFIX: "ghcr.io/siderolabs" }, { file: "pkg.yaml" });
console.log(JSON.stringify({ id, ref, output }));`,
    );
    const { id, ref, output } = JSON.parse(out);
    expect(id).toBe("613e1592b2da41ae5e265e8789429f22e121aab91cb4deb6bc3c0b6262961245");
    expect(ref).toBe(`factory.talos.dev/aws-installer/${id}:v1.11.2`);
    expect(output).toBe('image: "ghcr.io/siderolabs/tools:v1.13.0"');
  });

  it("installs the talos-ext command, which reports its released version", async () => {
    const cli = packages.find((p) => p.name === "@talos-ext/cli")!;
    const r = await execa(join(consumer, "node_modules", ".bin", "talos-ext"), ["--version"], {
      cwd: consumer,
      reject: false,
      all: true,
    });
    expect(r.exitCode, r.all).toBe(0);
    expect(r.stdout.trim()).toContain(cli.version);
  });

  it("the checks catch a package that would publish broken", { timeout: 120_000 }, async () => {
    // A package as it goes wrong in practice: a target outside `files`, the workspace-only
    // `development` condition and a `workspace:` range left in, `types` after `import`.
    const dir = join(work, "broken");
    mkdirSync(join(dir, "dist"), { recursive: true });
    mkdirSync(join(dir, "lib"));
    writeFileSync(join(dir, "dist", "index.js"), "export const a = 1;\n");
    writeFileSync(join(dir, "dist", "index.d.ts"), "export declare const a: number;\n");
    writeFileSync(join(dir, "lib", "extra.js"), "export const b = 2;\n");
    writeFileSync(
      join(dir, "generators.json"),
      JSON.stringify({
        generators: { thing: { factory: "./dist/generators/thing", schema: "./schemas/thing.json" } },
      }),
    );
    const manifest = {
      name: "@talos-ext/broken",
      version: "1.0.0",
      type: "module",
      license: "MPL-2.0",
      repository: { type: "git", url: "git+https://example.invalid/x.git", directory: "packages/broken" },
      engines: { node: ">=24" },
      exports: {
        ".": { development: "./src/index.ts", import: "./dist/index.js", types: "./dist/index.d.ts" },
        "./extra": { types: "./lib/extra.d.ts", import: "./lib/extra.js" },
      },
      types: "./dist/index.d.ts",
      files: ["dist", "generators.json"],
      bin: { broken: "./dist/bin.js" },
      generators: "./generators.json",
    };
    writeFileSync(join(dir, "package.json"), JSON.stringify(manifest));
    const pkg = { name: "@talos-ext/broken", version: "1.0.0", dir };
    const out = join(work, "broken-out");
    mkdirSync(out);
    const result = await packPackage(pkg, out);
    const problems = packedProblems(result);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/development condition is published/),
        expect.stringMatching(/points at source \(\.\/src\/index\.ts\)/),
        expect.stringMatching(/"types" must be the first condition/),
        expect.stringMatching(/\.\/lib\/extra\.js is not in the tarball/),
        expect.stringMatching(/bin\.broken: \.\/dist\/bin\.js is not in the tarball/),
        expect.stringMatching(/LICENSE: no license text/),
        expect.stringMatching(
          /generators\.thing\.factory: \.\/dist\/generators\/thing is not in the tarball/,
        ),
        expect.stringMatching(/generators\.thing\.schema: \.\/schemas\/thing\.json is not in the tarball/),
      ]),
    );
    // and a manifest whose workspace: range was not rewritten (pack outside a workspace refuses it)
    const reread = await readPackedTarball(pkg, result.tarball);
    reread.manifest.dependencies = { "@talos-ext/spec": "workspace:^" };
    expect(packedProblems(reread)).toContainEqual(expect.stringMatching(/was not rewritten/));
    // and publint sees the missing file too, and attw the missing types
    expect((await runPublint(result.tarball, root)).ok).toBe(false);
    const attw = await runAttw(result.tarball, root);
    expect(attw.ok).toBe(false);
    expect(attw.output).toMatch(/@talos-ext\/broken\/extra/);
  });
});
