import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SourceServer, startSourceServer } from "../../../../tools/harness/source-server.ts";
import { cachePathFor } from "../sources/fetch.ts";
import { updateChecksums, updateFromDiff } from "./update.ts";

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
const sha512 = (s: string) => createHash("sha512").update(s).digest("hex");

const CONTENT: Record<string, string> = {
  "foo-1.0.0.tar.gz": "foo one point oh\n",
  "foo-1.1.0.tar.gz": "foo one point one\n",
  "bar-2.0.0.tgz": "bar two\n",
  "bar-2.1.0.tgz": "bar two point one\n",
  "baz-x86_64-3.0.tgz": "baz amd64 three\n",
  "baz-aarch64-3.0.tgz": "baz arm64 three\n",
  "baz-x86_64-3.1.tgz": "baz amd64 three point one\n",
  "baz-aarch64-3.1.tgz": "baz arm64 three point one\n",
  "qux-0.1.tgz": "qux zero one\n",
  "qux-0.2.tgz": "qux zero two\n",
};
const h = (name: string) => ({ sha256: sha256(CONTENT[name]!), sha512: sha512(CONTENT[name]!) });

let server: SourceServer;
const temps: string[] = [];

beforeAll(async () => {
  server = await startSourceServer();
  for (const [name, data] of Object.entries(CONTENT)) server.addFile(name, data);
});
afterAll(async () => {
  await server.close();
  await Promise.all(temps.map((t) => rm(t, { recursive: true, force: true })));
});

const STEPS = (srcs: string) => `steps:\n  - sources:\n${srcs}\nfinalize:\n  - from: /\n    to: /\n`;
const SRC = (url: string, dest: string, s256: string, s512: string, indent = "      ") =>
  [
    `${indent}- url: ${url}`,
    `${indent}  destination: ${dest}`,
    `${indent}  sha256: ${s256}`,
    `${indent}  sha512: ${s512}`,
  ].join("\n");

/** The fixture tree; FOO and BAZ versions are already bumped in `vars.yaml`, checksums are the old ones. */
function files(over: Record<string, string> = {}): Record<string, string> {
  const srv = `${server.url}/file`;
  const foo = h("foo-1.0.0.tar.gz");
  const bar = h("bar-2.0.0.tgz");
  const bazA = h("baz-x86_64-3.0.tgz");
  const bazB = h("baz-aarch64-3.0.tgz");
  const qux = h("qux-0.1.tgz");
  return {
    Pkgfile: [
      "# syntax = ghcr.io/siderolabs/bldr:v0.6.3",
      "format: v1alpha2",
      "vars:",
      "  # bar is pinned here",
      "  BAR_VERSION: 2.0.0 # renovate: depName=example/bar",
      "labels:",
      "  org.opencontainers.image.source: https://example.invalid/repo",
      "",
    ].join("\n"),
    "vars.yaml": [
      "# Versions and checksums. Keep the renovate comments!",
      "FOO_VERSION: 1.1.0  # renovate: datasource=github-releases depName=example/foo",
      `FOO_SHA256: ${foo.sha256}`,
      `FOO_SHA512: ${foo.sha512}   # trailing comment`,
      "",
      `BAR_SHA256: "${bar.sha256}"`,
      `BAR_SHA512: '${bar.sha512}'`,
      "",
      "BAZ_VERSION: '3.1'",
      `BAZ_AMD64_SHA256: ${bazA.sha256}`,
      `BAZ_AMD64_SHA512: ${bazA.sha512}`,
      `BAZ_ARM64_SHA256: ${bazB.sha256}`,
      `BAZ_ARM64_SHA512: ${bazB.sha512}`,
      "",
    ].join("\n"),
    "foo/pkg.yaml": `name: foo\nvariant: scratch\n${STEPS(
      SRC(`${srv}/foo-{{ .FOO_VERSION }}.tar.gz`, "foo.tar.gz", '"{{ .FOO_SHA256 }}"', '"{{ .FOO_SHA512 }}"'),
    )}`,
    "bar/pkg.yaml": `name: bar\nvariant: scratch\n${STEPS(
      SRC(`${srv}/bar-{{ .BAR_VERSION }}.tgz`, "bar.tgz", '"{{ .BAR_SHA256 }}"', '"{{ .BAR_SHA512 }}"'),
    )}`,
    "baz/pkg.yaml": `name: baz\nvariant: scratch\n${STEPS(
      [
        '      # {{ if eq .ARCH "aarch64" }}',
        SRC(
          `${srv}/baz-{{ .ARCH }}-{{ .BAZ_VERSION }}.tgz`,
          "baz.tgz",
          '"{{ .BAZ_ARM64_SHA256 }}"',
          '"{{ .BAZ_ARM64_SHA512 }}"',
        ),
        "      # {{ else }}",
        SRC(
          `${srv}/baz-{{ .ARCH }}-{{ .BAZ_VERSION }}.tgz`,
          "baz.tgz",
          '"{{ .BAZ_AMD64_SHA256 }}"',
          '"{{ .BAZ_AMD64_SHA512 }}"',
        ),
        "      # {{ end }}",
      ].join("\n"),
    )}`,
    "qux/vars.yaml": "QUX_VERSION: 0.2\n",
    "qux/pkg.yaml": `name: qux\nvariant: scratch\n${STEPS(
      SRC(`${srv}/qux-{{ .QUX_VERSION }}.tgz`, "qux.tgz", qux.sha256, qux.sha512),
    )}`,
    ...over,
  };
}

async function makeTree(content: Record<string, string>): Promise<{ root: string; cacheDir: string }> {
  const base = await mkdtemp(join(tmpdir(), "talos-ext-update-test-"));
  temps.push(base);
  const root = join(base, "tree");
  for (const [rel, text] of Object.entries(content)) {
    await mkdir(dirname(join(root, rel)), { recursive: true });
    await writeFile(join(root, rel), text);
  }
  return { root, cacheDir: join(base, "cache") };
}

async function snapshot(root: string, names: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const n of names) out[n] = await readFile(join(root, n), "utf8");
  return out;
}

const ALL = [
  "Pkgfile",
  "vars.yaml",
  "foo/pkg.yaml",
  "bar/pkg.yaml",
  "baz/pkg.yaml",
  "qux/vars.yaml",
  "qux/pkg.yaml",
];
const fast = { retries: 0, timeoutMs: 5000, proxyEnv: {} };

describe("updateChecksums", () => {
  it("replaces FOO's old checksums in vars.yaml, byte-for-byte elsewhere, and fills the cache", async () => {
    const { root, cacheDir } = await makeTree(files());
    const before = await snapshot(root, ALL);
    const hitsBar = server.hits("/file/bar-2.0.0.tgz");
    const result = await updateChecksums({ root, variable: "FOO_VERSION", cacheDir, download: fast });

    const old = h("foo-1.0.0.tar.gz");
    const now = h("foo-1.1.0.tar.gz");
    const after = await snapshot(root, ALL);
    expect(after["vars.yaml"]).toBe(
      before["vars.yaml"]!.replace(old.sha256, now.sha256).replace(old.sha512, now.sha512),
    );
    expect(after["vars.yaml"]).toContain(
      "FOO_VERSION: 1.1.0  # renovate: datasource=github-releases depName=example/foo\n",
    );
    expect(after["vars.yaml"]).toContain(`FOO_SHA512: ${now.sha512}   # trailing comment\n`);
    for (const f of ALL.filter((f) => f !== "vars.yaml")) expect(after[f]).toBe(before[f]);
    expect(server.hits("/file/bar-2.0.0.tgz")).toBe(hitsBar);

    expect(result.variables).toEqual([
      { variable: "FOO_VERSION", file: "vars.yaml", lines: [2], values: ["1.1.0"], sources: 1 },
    ]);
    expect(result.sources).toHaveLength(1);
    expect(result.sources[0]).toMatchObject({
      url: `${server.url}/file/foo-1.1.0.tar.gz`,
      packages: ["foo"],
      platforms: ["linux/amd64", "linux/arm64"],
      old,
      new: now,
    });
    expect(result.files.map((f) => [f.file, f.replacements])).toEqual([["vars.yaml", 2]]);
    expect(result.diagnostics.filter((d) => d.severity !== "info")).toEqual([]);
    const cached = cachePathFor(now.sha256, { cacheDir });
    expect(result.sources[0]!.cachePath).toBe(cached);
    expect(await readFile(cached, "utf8")).toBe(CONTENT["foo-1.1.0.tar.gz"]);
    expect(await readdir(join(cacheDir, "tmp"))).toEqual([]);
    expect((await readdir(root)).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });

  it("covers arch-specific sources through the two-platform load", async () => {
    const { root, cacheDir } = await makeTree(files());
    const before = await snapshot(root, ALL);
    const result = await updateChecksums({
      root,
      variable: "BAZ_VERSION",
      file: "vars.yaml",
      cacheDir,
      download: fast,
    });
    const after = await readFile(join(root, "vars.yaml"), "utf8");
    let expected = before["vars.yaml"]!;
    for (const arch of ["x86_64", "aarch64"]) {
      const o = h(`baz-${arch}-3.0.tgz`);
      const n = h(`baz-${arch}-3.1.tgz`);
      expected = expected.replace(o.sha256, n.sha256).replace(o.sha512, n.sha512);
    }
    expect(after).toBe(expected);
    expect(result.sources.map((s) => [s.url.split("/").pop(), s.platforms])).toEqual([
      ["baz-x86_64-3.1.tgz", ["linux/amd64"]],
      ["baz-aarch64-3.1.tgz", ["linux/arm64"]],
    ]);
  });

  it("updates quoted checksums for a Pkgfile variable and keeps the quotes", async () => {
    const { root, cacheDir } = await makeTree(
      files({ Pkgfile: files().Pkgfile!.replace("BAR_VERSION: 2.0.0", "BAR_VERSION: 2.1.0") }),
    );
    const before = await snapshot(root, ALL);
    const result = await updateChecksums({ root, variable: "BAR_VERSION", cacheDir, download: fast });
    const o = h("bar-2.0.0.tgz");
    const n = h("bar-2.1.0.tgz");
    const after = await snapshot(root, ALL);
    expect(after["vars.yaml"]).toBe(
      before["vars.yaml"]!.replace(`"${o.sha256}"`, `"${n.sha256}"`).replace(
        `'${o.sha512}'`,
        `'${n.sha512}'`,
      ),
    );
    expect(after.Pkgfile).toBe(before.Pkgfile);
    expect(result.variables[0]).toMatchObject({ file: "Pkgfile", lines: [5], values: ["2.1.0"] });
  });

  it("fails with UPDATE_DOWNLOAD_FAILED on a 404 and writes nothing", async () => {
    const tree = files();
    tree["vars.yaml"] = tree["vars.yaml"]!.replace("FOO_VERSION: 1.1.0", "FOO_VERSION: 9.9.9");
    const { root, cacheDir } = await makeTree(tree);
    const before = await snapshot(root, ALL);
    const err = await updateChecksums({ root, variable: "FOO_VERSION", cacheDir, download: fast }).catch(
      (e) => e,
    );
    expect(err).toMatchObject({ code: "UPDATE_DOWNLOAD_FAILED" });
    expect(err.message).toContain(`${server.url}/file/foo-9.9.9.tar.gz`);
    expect(err.message).toContain("404");
    expect(await snapshot(root, ALL)).toEqual(before);
    expect((await readdir(root)).sort()).toEqual(["Pkgfile", "bar", "baz", "foo", "qux", "vars.yaml"]);
  });

  it("writes nothing in a dry run but reports the diff", async () => {
    const { root, cacheDir } = await makeTree(files());
    const before = await snapshot(root, ALL);
    const result = await updateChecksums({
      root,
      variable: "FOO_VERSION",
      dryRun: true,
      cacheDir,
      download: fast,
    });
    expect(await snapshot(root, ALL)).toEqual(before);
    expect(result.dryRun).toBe(true);
    const o = h("foo-1.0.0.tar.gz");
    const n = h("foo-1.1.0.tar.gz");
    expect(result.files).toEqual([
      {
        file: "vars.yaml",
        replacements: 2,
        diff: [
          "--- a/vars.yaml",
          "+++ b/vars.yaml",
          "@@ -3,2 +3,2 @@",
          `-FOO_SHA256: ${o.sha256}`,
          `-FOO_SHA512: ${o.sha512}   # trailing comment`,
          `+FOO_SHA256: ${n.sha256}`,
          `+FOO_SHA512: ${n.sha512}   # trailing comment`,
          "",
        ].join("\n"),
      },
    ]);
    await expect(readdir(cacheDir)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("warns UPDATE_INLINE_CHECKSUM for a checksum written in pkg.yaml and leaves it alone", async () => {
    const { root, cacheDir } = await makeTree(files());
    const before = await snapshot(root, ALL);
    const result = await updateChecksums({ root, variable: "QUX_VERSION", cacheDir, download: fast });
    expect(await snapshot(root, ALL)).toEqual(before);
    expect(result.files).toEqual([]);
    const n = h("qux-0.2.tgz");
    const warnings = result.diagnostics.filter((d) => d.code === "UPDATE_INLINE_CHECKSUM");
    expect(warnings.map((d) => [d.severity, d.file, d.line])).toEqual([
      ["warning", "qux/pkg.yaml", 7],
      ["warning", "qux/pkg.yaml", 8],
    ]);
    expect(warnings[0]!.message).toContain(n.sha256);
    expect(warnings[1]!.message).toContain(n.sha512);
  });

  it("reports variable lookup problems with their codes", async () => {
    const { root, cacheDir } = await makeTree(files({ "foo/vars.yaml": "FOO_VERSION: 1.1.0\n" }));
    const opts = { root, cacheDir, download: fast };
    await expect(updateChecksums({ ...opts, variable: "NOPE_VERSION" })).rejects.toMatchObject({
      code: "UPDATE_VAR_NOT_FOUND",
    });
    const amb = await updateChecksums({ ...opts, variable: "FOO_VERSION" }).catch((e) => e);
    expect(amb).toMatchObject({ code: "UPDATE_VAR_AMBIGUOUS" });
    expect(amb.message).toContain("vars.yaml:2");
    expect(amb.message).toContain("foo/vars.yaml:1");
    await expect(
      updateChecksums({ ...opts, variable: "FOO_VERSION", file: "foo/pkg.yaml" }),
    ).rejects.toMatchObject({
      code: "UPDATE_BAD_FILE",
    });
    await expect(
      updateChecksums({ ...opts, variable: "QUX_VERSION", file: "vars.yaml" }),
    ).rejects.toMatchObject({
      code: "UPDATE_VAR_NOT_FOUND",
      location: { file: "vars.yaml" },
    });
    // The deeper vars.yaml wins for foo, so the root definition reaches no source.
    const root1 = await updateChecksums({
      ...opts,
      variable: "FOO_VERSION",
      file: "vars.yaml",
      dryRun: true,
    });
    expect(root1.sources).toEqual([]);
    expect(root1.diagnostics.map((d) => d.code)).toContain("UPDATE_NO_SOURCES");
    const leaf = await updateChecksums({
      ...opts,
      variable: "FOO_VERSION",
      file: "foo/vars.yaml",
      dryRun: true,
    });
    expect(leaf.sources.map((s) => s.packages)).toEqual([["foo"]]);
  });

  it("refuses one old checksum that would need two new values", async () => {
    const zero = { sha256: "0".repeat(64), sha512: "0".repeat(128) };
    const tree = files();
    tree["vars.yaml"] = tree["vars.yaml"]!.replace(h("baz-x86_64-3.0.tgz").sha256, zero.sha256).replace(
      h("baz-aarch64-3.0.tgz").sha256,
      zero.sha256,
    );
    const { root, cacheDir } = await makeTree(tree);
    const before = await snapshot(root, ALL);
    await expect(
      updateChecksums({ root, variable: "BAZ_VERSION", cacheDir, download: fast }),
    ).rejects.toMatchObject({
      code: "UPDATE_CHECKSUM_CONFLICT",
    });
    expect(await snapshot(root, ALL)).toEqual(before);
  });
});

describe("updateFromDiff", () => {
  it("updates every bumped variable of a git diff -U0, skipping checksum keys", async () => {
    const { root, cacheDir } = await makeTree(files());
    const before = await snapshot(root, ALL);
    const diff = [
      "diff --git a/vars.yaml b/vars.yaml",
      "--- a/vars.yaml",
      "+++ b/vars.yaml",
      "@@ -2 +2 @@",
      "-FOO_VERSION: 1.0.0  # renovate: datasource=github-releases depName=example/foo",
      "+FOO_VERSION: 1.1.0  # renovate: datasource=github-releases depName=example/foo",
      "@@ -9 +9 @@",
      "-BAZ_VERSION: '3.0'",
      "+BAZ_VERSION: '3.1'",
      "@@ -10 +10 @@",
      "-BAZ_AMD64_SHA256: 00",
      "+BAZ_AMD64_SHA256: 11",
      "",
    ].join("\n");
    const result = await updateFromDiff({ root, diff, cacheDir, download: fast });
    expect(result.variables.map((v) => v.variable)).toEqual(["FOO_VERSION", "BAZ_VERSION"]);
    let expected = before["vars.yaml"]!;
    for (const [o, n] of [
      ["foo-1.0.0.tar.gz", "foo-1.1.0.tar.gz"],
      ["baz-x86_64-3.0.tgz", "baz-x86_64-3.1.tgz"],
      ["baz-aarch64-3.0.tgz", "baz-aarch64-3.1.tgz"],
    ] as const) {
      expected = expected.replace(h(o).sha256, h(n).sha256).replace(h(o).sha512, h(n).sha512);
    }
    expect(await readFile(join(root, "vars.yaml"), "utf8")).toBe(expected);
    expect(result.files.map((f) => [f.file, f.replacements])).toEqual([["vars.yaml", 6]]);
  });
  it("reads paths relative to the git work tree when the tree is a subdirectory", async () => {
    const { root, cacheDir } = await makeTree(files());
    await mkdir(join(dirname(root), ".git"));
    const diff =
      "--- a/tree/vars.yaml\n+++ b/tree/vars.yaml\n@@ -2 +2 @@\n-FOO_VERSION: 1.0.0\n+FOO_VERSION: 1.1.0\n";
    const result = await updateFromDiff({ root, diff, cacheDir, download: fast });
    expect(result.variables.map((v) => [v.variable, v.file])).toEqual([["FOO_VERSION", "vars.yaml"]]);
    expect(await readFile(join(root, "vars.yaml"), "utf8")).toContain(h("foo-1.1.0.tar.gz").sha512);
  });
});
