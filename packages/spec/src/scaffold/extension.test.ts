import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { hasErrors } from "../errors.ts";
import { resolveGraph } from "../graph/index.ts";
import { lintTree } from "../lint/index.ts";
import { loadTree } from "../loader/index.ts";
import { type ExtensionScaffoldOptions, scaffoldExtension } from "./extension.ts";

const EXTENSIONS = fileURLToPath(new URL("../../../../extensions", import.meta.url));
let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "talos-ext-scaffold-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Writes the scaffold into a copy of extensions/ and returns every error lint finds for it. */
async function lintScaffold(options: ExtensionScaffoldOptions, dir = options.name): Promise<string[]> {
  const root = await mkdtemp(join(tmp, "tree-"));
  await cp(EXTENSIONS, root, { recursive: true });
  for (const f of scaffoldExtension(options).files) {
    await mkdir(dirname(join(root, dir, f.path)), { recursive: true });
    await writeFile(join(root, dir, f.path), f.content);
  }
  const errors: string[] = [];
  for (const platform of ["linux/amd64", "linux/arm64"] as const) {
    const tree = await loadTree({ root, platform });
    const part = { ...tree, packages: new Map([[options.name, tree.packages.get(options.name)!]]) };
    const found = [
      ...tree.diagnostics,
      ...resolveGraph(tree, options.name).diagnostics,
      ...(await lintTree(part)),
    ];
    if (hasErrors(found)) errors.push(...found.filter((d) => d.severity === "error").map((d) => d.code));
    expect(tree.packages.has(options.name)).toBe(true);
  }
  return errors;
}

describe("scaffoldExtension", () => {
  test("each variant loads and lints without errors in the real tree", async () => {
    expect(await lintScaffold({ name: "plain" })).toEqual([]);
    expect(await lintScaffold({ name: "files-only", noBuild: true })).toEqual([]);
    expect(await lintScaffold({ name: "svc", service: true })).toEqual([]);
    expect(
      await lintScaffold(
        {
          name: "fetched",
          sourceUrl: "https://example.org/dl/v2.4.1/fetched-2.4.1.tar.xz",
          version: "2.4.1",
          builder: { image: "{{ .TOOLCHAIN_IMAGE }}" },
        },
        "examples/fetched",
      ),
    ).toEqual([]);
  });

  test("a source URL carries {{ .VERSION }} where the version stood alone", () => {
    const s = scaffoldExtension({
      name: "foo",
      version: "1.2",
      sourceUrl: "https://example.org/v1.2/foo-1.2.tar.gz?mirror=11.2",
    });
    const pkg = s.files.find((f) => f.path === "pkg.yaml")!.content;
    expect(pkg).toContain('url: "https://example.org/v{{ .VERSION }}/foo-{{ .VERSION }}.tar.gz?mirror=11.2"');
    expect(pkg).toContain("destination: foo.tar.gz");
    expect(s.updateVariable).toBe("VERSION");
    const vars = s.files.find((f) => f.path === "vars.yaml")!.content;
    expect(vars).toContain(`SHA256: ${"0".repeat(64)}`);
  });

  test("valid names always give a package of that name; invalid ones are SCAFFOLD_BAD_NAME", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$/), (name) => {
        const s = scaffoldExtension({ name });
        expect(s.files.find((f) => f.path === "pkg.yaml")!.content).toContain(`\nname: ${name}\n`);
      }),
    );
    for (const bad of ["", "A", "-x", "x-", "a_b", "a/b", "x".repeat(64)]) {
      expect(() => scaffoldExtension({ name: bad })).toThrow(
        expect.objectContaining({ code: "SCAFFOLD_BAD_NAME" }),
      );
    }
  });

  test("conflicting options are errors with a code", () => {
    const code = (o: ExtensionScaffoldOptions) => {
      try {
        scaffoldExtension(o);
        return "none";
      } catch (e) {
        return (e as { code: string }).code;
      }
    };
    expect(code({ name: "x", service: true, noBuild: true })).toBe("SCAFFOLD_OPTIONS_CONFLICT");
    expect(code({ name: "x", noBuild: true, sourceUrl: "https://e.org/x-0.1.0.tgz" })).toBe(
      "SCAFFOLD_OPTIONS_CONFLICT",
    );
    expect(code({ name: "x", sourceUrl: "ftp://e.org/x-0.1.0.tgz" })).toBe("SCAFFOLD_BAD_SOURCE_URL");
    expect(code({ name: "x", sourceUrl: "https://e.org/x.tgz" })).toBe("SCAFFOLD_SOURCE_NO_VERSION");
  });
});
