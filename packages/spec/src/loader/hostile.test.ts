/**
 * Hostile trees: FIFOs, devices, alias bombs, huge variable files, invalid UTF-8. Each must end
 * quickly with a coded diagnostic naming the file, never hang, crash or be skipped silently.
 */
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, describe, expect, it } from "vitest";
import { makeTree, PKGFILE, pkgYaml, type TempTree } from "../../test/test-tree.ts";
import { lintTree } from "../lint/index.ts";
import { encodeUtf8Faithful } from "../utf8.ts";
import { loadTree } from "./load-tree.ts";
import { readTreeFile } from "./read-file.ts";
import type { LoadMode } from "./types.ts";

const trees: TempTree[] = [];
afterEach(async () => {
  await Promise.all(trees.splice(0).map((t) => t.cleanup()));
});

async function tree(files: Record<string, string>, links: Record<string, string> = {}): Promise<TempTree> {
  const t = await makeTree(files, links);
  trees.push(t);
  return t;
}

const mkfifo = (path: string) => execa("mkfifo", [path]);

const BOMB = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ..."bcdefghi".split("").map((k, i) => {
    const prev = "abcdefghi"[i]!;
    return `${k}: &${k} [${Array(9).fill(`*${prev}`).join(",")}]`;
  }),
  "",
].join("\n");

describe.each<LoadMode>(["frontend", "cli"])("loadTree on hostile input (%s mode)", (mode) => {
  it("a FIFO pkg.yaml is a coded error naming it, and the rest of the tree loads", async () => {
    const t = await tree({ Pkgfile: PKGFILE, "b/pkg.yaml": pkgYaml("b") });
    await mkdir(join(t.root, "a"));
    await mkfifo(join(t.root, "a/pkg.yaml"));
    const loaded = await loadTree({ root: t.root, mode });
    expect([...loaded.packages.keys()]).toStrictEqual(["b"]);
    expect(loaded.diagnostics).toMatchObject([
      {
        code: "LOAD_NOT_REGULAR_FILE",
        severity: "error",
        file: "a/pkg.yaml",
        message: expect.stringContaining("FIFO"),
      },
    ]);
  });

  it("a FIFO vars.yaml breaks its subtree like a broken vars.yaml", async () => {
    const t = await tree({ Pkgfile: PKGFILE, "a/pkg.yaml": pkgYaml("a"), "c/pkg.yaml": pkgYaml("c") });
    await mkfifo(join(t.root, "a/vars.yaml"));
    const loaded = await loadTree({ root: t.root, mode });
    expect([...loaded.packages.keys()]).toStrictEqual(["c"]);
    expect(loaded.diagnostics).toMatchObject([{ code: "LOAD_NOT_REGULAR_FILE", file: "a/vars.yaml" }]);
  });

  it("a FIFO *.tmpl and a symlink to a FIFO are reported, not read", async () => {
    const t = await tree({ Pkgfile: PKGFILE, "a/pkg.yaml": pkgYaml("a") }, { "a/link.tmpl": "fifo" });
    await mkfifo(join(t.root, "a/fifo"));
    await mkfifo(join(t.root, "a/x.tmpl"));
    const loaded = await loadTree({ root: t.root, mode });
    expect(loaded.packages.get("a")?.templatedFiles).toStrictEqual([]);
    const found = loaded.diagnostics.map((d) => [d.code, d.file, d.message]);
    expect(found).toContainEqual([
      "LOAD_NOT_REGULAR_FILE",
      "a/x.tmpl",
      '"a/x.tmpl" is a FIFO (named pipe), not a regular file',
    ]);
    expect(found).toContainEqual([
      "LOAD_NOT_REGULAR_FILE",
      "a/link.tmpl",
      '"a/link.tmpl" is a symlink to a FIFO (named pipe), not a regular file',
    ]);
  });

  it("a FIFO Pkgfile is a coded error, not a hang and not a missing Pkgfile", async () => {
    const t = await tree({ "a/pkg.yaml": pkgYaml("a") });
    await mkfifo(join(t.root, "Pkgfile"));
    const loaded = await loadTree({ root: t.root, mode });
    expect(loaded.diagnostics).toMatchObject([{ code: "LOAD_NOT_REGULAR_FILE", file: "Pkgfile" }]);
  });

  it("a dangling symlink pkg.yaml is reported instead of skipped", async () => {
    const t = await tree({ Pkgfile: PKGFILE }, { "a/pkg.yaml": "missing.yaml" });
    const loaded = await loadTree({ root: t.root, mode });
    expect(loaded.diagnostics).toMatchObject([{ code: "LOAD_NOT_REGULAR_FILE", file: "a/pkg.yaml" }]);
  });

  it.each(["Pkgfile", "vars.yaml", "a/pkg.yaml"])(
    "an alias bomb in %s hits the alias budget",
    async (file) => {
      const files: Record<string, string> = { Pkgfile: PKGFILE, "a/pkg.yaml": pkgYaml("a") };
      files[file] =
        file === "Pkgfile" ? `${PKGFILE}${BOMB}` : file.endsWith("pkg.yaml") ? pkgYaml("a", BOMB) : BOMB;
      const loaded = await loadTree({ root: (await tree(files)).root, mode });
      expect(loaded.diagnostics).toMatchObject([
        { code: "YAML_ALIAS_BUDGET", file, line: expect.any(Number) },
      ]);
    },
  );
});

describe("loadTree: large and odd input", () => {
  it("loads a vars.yaml with 150k keys (variable loading is linear)", async () => {
    const lines: string[] = [];
    for (let i = 0; i < 150_000; i++) lines.push(`VAR_${i}: value-${i}`);
    const t = await tree({
      Pkgfile: PKGFILE,
      "vars.yaml": `${lines.join("\n")}\n`,
      "a/vars.yaml": "VAR_7: own\n",
      "a/pkg.yaml": pkgYaml("a", 'shell: "{{ .VAR_149999 }}/{{ .VAR_7 }}"\n'),
      "b/pkg.yaml": pkgYaml("b"),
    });
    const loaded = await loadTree({ root: t.root });
    expect(loaded.diagnostics).toStrictEqual([]);
    const a = loaded.packages.get("a")!;
    expect(a.pkg.shell).toBe("value-149999/own");
    expect(a.context.VAR_0).toBe("value-0");
    expect(Object.keys(loaded.packages.get("b")!.context).length).toBeGreaterThanOrEqual(150_000);
  }, 120_000);

  it("keeps invalid UTF-8 of a *.tmpl byte for byte, rejects it in YAML with its position", async () => {
    const t = await tree({ Pkgfile: PKGFILE, "a/pkg.yaml": pkgYaml("a"), "b/pkg.yaml": pkgYaml("b") });
    const tmpl = Buffer.concat([
      Buffer.from("arch={{ .ARCH }} latin1="),
      Buffer.of(0xe9, 0xff),
      Buffer.from("\n"),
    ]);
    await writeFile(join(t.root, "a/conf.tmpl"), tmpl);
    await writeFile(
      join(t.root, "b/pkg.yaml"),
      Buffer.concat([
        Buffer.from("name: b\nvariant: scratch\nshell: /bin/"),
        Buffer.of(0xff),
        Buffer.from("sh\n"),
      ]),
    );
    const loaded = await loadTree({ root: t.root });
    const [conf] = loaded.packages.get("a")!.templatedFiles;
    const want = Buffer.concat([
      Buffer.from("arch=x86_64 latin1="),
      Buffer.of(0xe9, 0xff),
      Buffer.from("\n"),
    ]);
    expect(Buffer.from(encodeUtf8Faithful(conf!.content))).toStrictEqual(want);
    expect(loaded.packages.has("b")).toBe(false);
    expect(loaded.diagnostics).toMatchObject([
      {
        code: "YAML_INVALID_UTF8",
        file: "b/pkg.yaml",
        line: 3,
        column: 13,
        message: "invalid UTF-8 in YAML (byte 0xff)",
      },
    ]);
  });
});

describe("lintTree on hostile files next to a package", () => {
  it("a FIFO manifest.yaml or service spec does not hang lint", async () => {
    const t = await tree({ Pkgfile: PKGFILE, "a/pkg.yaml": pkgYaml("a") });
    await mkfifo(join(t.root, "a/manifest.yaml"));
    await mkfifo(join(t.root, "a/service.yaml"));
    const loaded = await loadTree({ root: t.root });
    expect(loaded.packages.has("a")).toBe(true);
    const findings = await lintTree(loaded);
    expect(Array.isArray(findings)).toBe(true);
  });
});

describe("readTreeFile", () => {
  it("refuses FIFOs and devices at once, caps the size, reads regular files and in-root symlinks", async () => {
    const t = await tree({ "ok.txt": "hello\n" }, { "link.txt": "ok.txt" });
    await mkfifo(join(t.root, "fifo"));
    await expect(readTreeFile(join(t.root, "fifo"), { file: "fifo" })).rejects.toMatchObject({
      code: "LOAD_NOT_REGULAR_FILE",
      location: { file: "fifo" },
    });
    await expect(readTreeFile("/dev/zero", { file: "zero" })).rejects.toMatchObject({
      code: "LOAD_NOT_REGULAR_FILE",
      message: '"zero" is a character device, not a regular file',
    });
    await expect(readTreeFile(t.root, { file: "." })).rejects.toMatchObject({
      code: "LOAD_NOT_REGULAR_FILE",
    });
    await expect(readTreeFile(join(t.root, "ok.txt"), { file: "ok.txt", maxBytes: 3 })).rejects.toMatchObject(
      {
        code: "LOAD_FILE_TOO_LARGE",
      },
    );
    expect(
      Buffer.from(
        await readTreeFile(join(t.root, "link.txt"), { file: "link.txt", rootReal: t.root }),
      ).toString(),
    ).toBe("hello\n");
    await expect(readTreeFile(join(t.root, "missing"), { file: "missing" })).rejects.toMatchObject({
      code: "ENOENT",
    });
  });

  it("refuses a file whose real path is outside the root (a symlink swapped after the walk)", async () => {
    const outside = await tree({ "secret.txt": "s\n" });
    const t = await tree({});
    await symlink(join(outside.root, "secret.txt"), join(t.root, "pkg.yaml"));
    await expect(
      readTreeFile(join(t.root, "pkg.yaml"), { file: "pkg.yaml", rootReal: t.root }),
    ).rejects.toMatchObject({ code: "LOAD_SYMLINK_ESCAPE", location: { file: "pkg.yaml" } });
  });
});
