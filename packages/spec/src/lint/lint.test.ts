import { afterEach, describe, expect, test } from "vitest";
import { makeTree, PKGFILE, type TempTree } from "../../test/test-tree.ts";
import type { Diagnostic } from "../errors.ts";
import { loadTree } from "../loader/index.ts";
import { lintTree } from "./index.ts";

const H64 = "a".repeat(64);
const H128 = "b".repeat(128);
let tree: TempTree | undefined;
afterEach(() => tree?.cleanup());

async function lint(files: Record<string, string>, talosVersion?: string): Promise<Diagnostic[]> {
  tree = await makeTree({ Pkgfile: PKGFILE, ...files });
  const loaded = await loadTree({ root: tree.root, platform: "linux/amd64" });
  expect(loaded.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return lintTree(loaded, talosVersion ? { talosVersion } : {});
}

const codes = (list: Diagnostic[]) => list.map((d) => d.code);

const MANIFEST = (name: string, version = '"1.0.0"', constraint = ">= v1.10.0") =>
  `version: v1alpha1\nmetadata:\n  name: ${name}\n  version: ${version}\n  compatibility:\n    talos:\n      version: "${constraint}"\n`;
const FINALIZED = "finalize:\n  - from: /pkg/manifest.yaml\n    to: /\n";

describe("image references", () => {
  test("digest-pinned is clean; tag-only warns; :latest or no tag is an error", async () => {
    const list = await lint({
      "a/pkg.yaml": `name: a\nvariant: scratch\ndependencies:\n  - image: ghcr.io/x/tools:v1@sha256:${H64}\n  - image: ghcr.io/x/tools:v2\n  - image: ghcr.io/x/tools:latest\n  - image: localhost:5000/x/base\n`,
    });
    expect(list.map((d) => [d.code, d.severity, d.line])).toEqual([
      ["LINT_IMAGE_TAG_ONLY", "warning", 5],
      ["LINT_IMAGE_LATEST", "error", 6],
      ["LINT_IMAGE_LATEST", "error", 7],
    ]);
    expect(list[0]!.file).toBe("a/pkg.yaml");
  });
});

describe("checksums", () => {
  const src = (sha256: string) =>
    `name: a\nvariant: scratch\nsteps:\n  - sources:\n      - url: https://example.invalid/a.tgz\n        destination: a.tgz\n        sha256: ${sha256}\n        sha512: ${H128}\n${"finalize:\n  - from: /\n    to: /\n"}`;
  test("hex checksums are clean; a non-hex one of the right length is an error at its line", async () => {
    expect(codes(await lint({ "a/pkg.yaml": src(H64) }))).toEqual([]);
    const bad = await lint({ "a/pkg.yaml": src(`${"z".repeat(64)}`) });
    expect(bad).toMatchObject([
      { code: "LINT_CHECKSUM_NOT_HEX", severity: "error", file: "a/pkg.yaml", line: 7 },
    ]);
  });
});

describe("cachePaths", () => {
  test("on a step with scripts is clean; on a step without scripts warns", async () => {
    const ok = await lint({
      "a/pkg.yaml":
        "name: a\nvariant: scratch\nsteps:\n  - cachePaths: [/.cache]\n    build: [make]\nfinalize:\n  - from: /\n    to: /\n",
    });
    expect(codes(ok)).toEqual([]);
    const bad = await lint({
      "a/pkg.yaml":
        "name: a\nvariant: scratch\nsteps:\n  - cachePaths: [/.cache]\n  - build: [make]\nfinalize:\n  - from: /\n    to: /\n",
    });
    expect(bad).toMatchObject([{ code: "LINT_CACHEPATHS_NO_SCRIPTS", severity: "warning", line: 4 }]);
  });
});

describe("manifests", () => {
  test("a finalized manifest named like its package is clean", async () => {
    const list = await lint({
      "a/pkg.yaml": `name: a\nvariant: scratch\n${FINALIZED}`,
      "a/manifest.yaml.tmpl": MANIFEST("a"),
    });
    expect(codes(list)).toEqual([]);
  });

  test("name mismatch, bad version format, unsatisfiable constraint, not finalized", async () => {
    const list = await lint({
      "a/pkg.yaml": "name: a\nvariant: scratch\nfinalize:\n  - from: /pkg/other\n    to: /\n",
      "a/manifest.yaml.tmpl": MANIFEST("b", '"latest"', ">= v9.0.0"),
    });
    expect(codes(list).sort()).toEqual(
      [
        "EXT_CONSTRAINT_UNSATISFIED",
        "EXT_VERSION_FORMAT",
        "LINT_MANIFEST_NAME_MISMATCH",
        "LINT_MANIFEST_NOT_FINALIZED",
      ].sort(),
    );
    const mismatch = list.find((d) => d.code === "LINT_MANIFEST_NAME_MISMATCH")!;
    expect(mismatch).toMatchObject({ file: "a/manifest.yaml.tmpl", line: 3 });
  });

  test("a constraint that does not parse is EXT_CONSTRAINT_INVALID; the Talos version decides satisfaction", async () => {
    const invalid = await lint({
      "a/pkg.yaml": `name: a\nvariant: scratch\n${FINALIZED}`,
      "a/manifest.yaml.tmpl": MANIFEST("a", '"1.0.0"', ">= 1.10"),
    });
    expect(codes(invalid)).toEqual(["EXT_CONSTRAINT_INVALID"]);
    const old = await lint(
      {
        "a/pkg.yaml": `name: a\nvariant: scratch\n${FINALIZED}`,
        "a/manifest.yaml.tmpl": MANIFEST("a", '"1.0.0"', ">= v1.12.0"),
      },
      "v1.11.2",
    );
    expect(codes(old)).toEqual(["EXT_CONSTRAINT_UNSATISFIED"]);
  });

  test("a manifest finalized to another place is reported with where it went", async () => {
    const list = await lint({
      "a/pkg.yaml": "name: a\nvariant: scratch\nfinalize:\n  - from: /pkg/manifest.yaml\n    to: /rootfs/\n",
      "a/manifest.yaml": MANIFEST("a"),
    });
    expect(list).toMatchObject([
      { code: "LINT_MANIFEST_NOT_FINALIZED", message: expect.stringContaining("/rootfs/manifest.yaml") },
    ]);
  });
});

describe("service specs in a package directory", () => {
  const SPEC = (name: string, extra = "") =>
    `name: ${name}\ncontainer:\n  entrypoint: /usr/local/bin/${name}\ndepends:\n  - service: udevd\n${extra}restart: always\n`;
  const PKG = (dir: string) =>
    `name: svc\nvariant: scratch\nsteps:\n  - install:\n      - mkdir -p /rootfs/usr/local/lib/containers/${dir}\nfinalize:\n  - from: /rootfs\n    to: /rootfs\n`;

  test("a spec whose name matches the container directory the scripts create is clean", async () => {
    const list = await lint({ "svc/pkg.yaml": PKG("mysvc"), "svc/mysvc.yaml": SPEC("mysvc") });
    expect(list.filter((d) => d.severity === "error")).toEqual([]);
  });

  test("name vs container directory, unknown service dependency, configuration: true", async () => {
    const list = await lint({
      "svc/pkg.yaml": PKG("my-svc"),
      "svc/mysvc.yaml": SPEC("mysvc", "  - service: udev\n  - configuration: true\n"),
    });
    const found = codes(list);
    expect(found).toContain("LINT_SERVICE_CONTAINER_DIR_MISSING");
    expect(found).toContain("LINT_SERVICE_UNKNOWN_DEPENDENCY");
    expect(found).toContain("LINT_SERVICE_WAITS_FOR_CONFIG");
    const dep = list.find((d) => d.code === "LINT_SERVICE_UNKNOWN_DEPENDENCY")!;
    expect(dep).toMatchObject({ file: "svc/mysvc.yaml", line: 6 });
  });

  test("service spec rules from Talos surface with the spec file's location", async () => {
    const list = await lint({
      "svc/pkg.yaml": PKG("Bad_Name"),
      "svc/bad.yaml": "name: Bad_Name\ncontainer:\n  entrypoint: ''\n",
    });
    expect(codes(list)).toContain("SCHEMA_SERVICE_INVALID");
    expect(list.find((d) => d.code === "SCHEMA_SERVICE_INVALID")!.file).toBe("svc/bad.yaml");
  });
});

describe("container directories that come from elsewhere", () => {
  test("no script touches the containers root: the directory is unknown, not missing", async () => {
    const list = await lint({
      "svc/pkg.yaml":
        "name: svc\nvariant: scratch\nsteps:\n  - install:\n      - cp -a /pkg/rootfs /rootfs\nfinalize:\n  - from: /rootfs\n    to: /rootfs\n",
      "svc/mysvc.yaml":
        "name: mysvc\ncontainer:\n  entrypoint: /usr/local/bin/mysvc\ndepends:\n  - service: udevd\nrestart: always\n",
    });
    expect(list.map((d) => d.code)).not.toContain("LINT_SERVICE_CONTAINER_DIR_MISSING");
  });
});
