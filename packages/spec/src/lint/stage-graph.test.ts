/**
 * Content lints follow the stage graph: what `stage:` dependencies put into a package's image
 * (through from/to and their own finalize) counts, and where lint cannot see (an image, a build
 * system, a computed path) the finding is a warning that says why, never an error.
 */
import { afterEach, describe, expect, test } from "vitest";
import { makeTree, PKGFILE, type TempTree } from "../../test/test-tree.ts";
import type { Diagnostic } from "../errors.ts";
import { loadTree } from "../loader/index.ts";
import { lintTree } from "./index.ts";

let tree: TempTree | undefined;
afterEach(() => tree?.cleanup());

async function lint(files: Record<string, string>): Promise<Diagnostic[]> {
  tree = await makeTree({ Pkgfile: PKGFILE, ...files });
  const loaded = await loadTree({ root: tree.root, platform: "linux/amd64" });
  expect(loaded.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return lintTree(loaded);
}

const SPEC = "name: mysvc\ncontainer:\n  entrypoint: /mysvc\ndepends:\n  - service: udevd\nrestart: always\n";
const pick = (list: Diagnostic[], prefix: string) =>
  list.filter((d) => d.code.startsWith(prefix)).map((d) => [d.code, d.severity]);

/** A package whose only step is `script`, finalizing /rootfs → /rootfs. */
const pkg = (name: string, deps: string, script: string) =>
  `name: ${name}\nvariant: scratch\n${deps ? `dependencies:\n${deps}` : ""}steps:\n  - install:\n      - |\n${script
    .split("\n")
    .map((l) => `        ${l}`)
    .join("\n")}\nfinalize:\n  - from: /rootfs\n    to: /rootfs\n`;

const SVC_SCRIPT = "cp /pkg/mysvc.yaml /rootfs/usr/local/etc/containers/mysvc.yaml";
const SVC_SCRIPT_WITH_MKDIR = `mkdir -p /rootfs/usr/local/etc/containers\n${SVC_SCRIPT}`;

describe("container directories from stage dependencies", () => {
  test("merged at / (a dependency's finalized /rootfs): present, no finding", async () => {
    const list = await lint({
      "payload/pkg.yaml": pkg(
        "payload",
        "",
        "mkdir -p /rootfs/usr/local/lib/containers/mysvc\ncp /pkg/mysvc /rootfs/usr/local/lib/containers/mysvc/",
      ),
      "payload/mysvc": "#!/bin/sh\n",
      "svc/pkg.yaml": pkg("svc", "  - stage: payload\n", SVC_SCRIPT_WITH_MKDIR),
      "svc/mysvc.yaml": SPEC,
    });
    expect(pick(list, "LINT_SERVICE_")).toEqual([]);
  });

  test("copied with from/to (and remapped by the dependency's own finalize): present", async () => {
    const list = await lint({
      "payload/pkg.yaml":
        "name: payload\nvariant: scratch\nsteps:\n  - install:\n      - mkdir -p /out/bin && touch /out/bin/tool\nfinalize:\n  - from: /out\n    to: /ctr\n",
      "svc/pkg.yaml": pkg(
        "svc",
        "  - stage: payload\n    from: /ctr\n    to: /rootfs/usr/local/lib/containers/mysvc\n",
        SVC_SCRIPT_WITH_MKDIR,
      ),
      "svc/mysvc.yaml": SPEC.replace("/mysvc", "/bin/tool"),
    });
    expect(pick(list, "LINT_SERVICE_")).toEqual([]);
  });

  test("through a runtime dependency of a dependency, and an aggregator without steps", async () => {
    const list = await lint({
      "payload/pkg.yaml": pkg(
        "payload",
        "",
        "mkdir -p /rootfs/usr/local/lib/containers/mysvc\ntouch /rootfs/usr/local/lib/containers/mysvc/mysvc",
      ),
      "middle/pkg.yaml":
        "name: middle\nvariant: scratch\ndependencies:\n  - stage: payload\n    runtime: true\n",
      "svc/pkg.yaml":
        "name: svc\nvariant: scratch\ndependencies:\n  - stage: middle\nfinalize:\n  - from: /rootfs\n    to: /rootfs\n  - from: /pkg/mysvc.yaml\n    to: /rootfs/usr/local/etc/containers/\n",
      "svc/mysvc.yaml": SPEC,
    });
    expect(pick(list, "LINT_SERVICE_")).toEqual([]);
  });

  test("truly missing with everything known: an error, with the directory that does exist as a hint", async () => {
    const list = await lint({
      "payload/pkg.yaml": pkg("payload", "", "mkdir -p /rootfs/usr/local/lib/containers/my-svc"),
      "svc/pkg.yaml": pkg("svc", "  - stage: payload\n", SVC_SCRIPT_WITH_MKDIR),
      "svc/mysvc.yaml": SPEC,
    });
    const missing = list.find((d) => d.code === "LINT_SERVICE_CONTAINER_DIR_MISSING");
    expect(missing).toMatchObject({ severity: "error", file: "svc/mysvc.yaml", line: 1 });
    expect(missing!.hint).toContain("/usr/local/lib/containers/my-svc/");
  });

  test("a dependency copied to another place does not count", async () => {
    const list = await lint({
      "payload/pkg.yaml": pkg("payload", "", "mkdir -p /rootfs/usr/local/lib/containers/mysvc"),
      "svc/pkg.yaml": pkg(
        "svc",
        "  - stage: payload\n    from: /\n    to: /elsewhere\n",
        SVC_SCRIPT_WITH_MKDIR,
      ),
      "svc/mysvc.yaml": SPEC,
    });
    expect(pick(list, "LINT_SERVICE_CONTAINER_DIR")).toEqual([
      ["LINT_SERVICE_CONTAINER_DIR_MISSING", "error"],
    ]);
  });

  test("test-phase writes are detached and do not count", async () => {
    const list = await lint({
      "svc/pkg.yaml":
        "name: svc\nvariant: scratch\nsteps:\n  - test:\n      - mkdir -p /rootfs/usr/local/lib/containers/mysvc\nfinalize:\n  - from: /rootfs\n    to: /rootfs\n",
      "svc/mysvc.yaml": SPEC,
    });
    expect(pick(list, "LINT_SERVICE_CONTAINER_DIR")).toEqual([
      ["LINT_SERVICE_CONTAINER_DIR_MISSING", "error"],
    ]);
  });
});

describe("service specs are checked against the extension image that ships them", () => {
  const MANIFEST =
    'version: v1alpha1\nmetadata:\n  name: ext\n  version: "1.0.0"\n  compatibility:\n    talos:\n      version: ">= v1.10.0"\n';
  test("a spec shipped by a helper stage, whose container directory the extension creates", async () => {
    const files = (extScript: string) => ({
      "helper/pkg.yaml": pkg("helper", "", SVC_SCRIPT_WITH_MKDIR),
      "helper/mysvc.yaml": SPEC,
      "ext/pkg.yaml": pkg("ext", "  - stage: helper\n", extScript).replace(
        "finalize:\n",
        "finalize:\n  - from: /pkg/manifest.yaml\n    to: /\n",
      ),
      "ext/manifest.yaml": MANIFEST,
    });
    const ok = await lint(
      files(
        "mkdir -p /rootfs/usr/local/lib/containers/mysvc\ntouch /rootfs/usr/local/lib/containers/mysvc/mysvc",
      ),
    );
    expect(pick(ok, "LINT_")).toEqual([]);
    const missing = await lint(files("mkdir -p /rootfs/usr/local/lib/containers/my-svc"));
    expect(missing.find((d) => d.code === "LINT_SERVICE_CONTAINER_DIR_MISSING")).toMatchObject({
      severity: "error",
      file: "helper/mysvc.yaml",
    });
    expect(missing.find((d) => d.code === "LINT_SERVICE_CONTAINER_DIR_MISSING")!.hint).toContain(
      "containers/my-svc/",
    );
  });
});

describe("where lint cannot see: a warning that says why", () => {
  test("an opaque build system writing into /rootfs", async () => {
    const list = await lint({
      "svc/pkg.yaml": pkg("svc", "", `make install DESTDIR=/rootfs\n${SVC_SCRIPT_WITH_MKDIR}`),
      "svc/mysvc.yaml": SPEC,
    });
    const d = list.find((x) => x.code === "LINT_SERVICE_CONTAINER_DIR_UNVERIFIED");
    expect(d).toMatchObject({ severity: "warning", file: "svc/mysvc.yaml" });
    expect(d!.message).toContain("`make` in svc/pkg.yaml steps[0].install[0]");
    expect(list.filter((x) => x.severity === "error")).toEqual([]);
  });

  test("a computed path", async () => {
    const list = await lint({
      "svc/pkg.yaml": pkg(
        "svc",
        "",
        `mkdir -p /rootfs/usr/local/lib/containers/$(cat name)\n${SVC_SCRIPT_WITH_MKDIR}`,
      ),
      "svc/mysvc.yaml": SPEC,
    });
    expect(pick(list, "LINT_SERVICE_CONTAINER_DIR")).toEqual([
      ["LINT_SERVICE_CONTAINER_DIR_UNVERIFIED", "warning"],
    ]);
  });

  test("an image dependency, directly or through a stage dependency", async () => {
    const direct = await lint({
      "svc/pkg.yaml": pkg(
        "svc",
        `  - image: ghcr.io/x/rootfs:v1@sha256:${"a".repeat(64)}\n`,
        SVC_SCRIPT_WITH_MKDIR,
      ),
      "svc/mysvc.yaml": SPEC,
    });
    const d = direct.find((x) => x.code === "LINT_SERVICE_CONTAINER_DIR_UNVERIFIED");
    expect(d!.message).toContain("image ghcr.io/x/rootfs:v1@sha256:");
    const via = await lint({
      "base/pkg.yaml": `name: base\nvariant: scratch\ndependencies:\n  - image: ghcr.io/x/tools:v1@sha256:${"a".repeat(64)}\nfinalize:\n  - from: /\n    to: /\n`,
      "svc/pkg.yaml": pkg("svc", "  - stage: base\n", SVC_SCRIPT_WITH_MKDIR),
      "svc/mysvc.yaml": SPEC,
    });
    const v = via.find((x) => x.code === "LINT_SERVICE_CONTAINER_DIR_UNVERIFIED");
    expect(v!.message).toContain("image ghcr.io/x/tools:v1@sha256:");
    expect(v!.message).toContain("via stage base");
  });

  test("an image copied to one place leaves other places certain", async () => {
    const list = await lint({
      "svc/pkg.yaml": pkg(
        "svc",
        `  - image: ghcr.io/x/app:v1@sha256:${"a".repeat(64)}\n    from: /\n    to: /rootfs/usr/local/lib/containers/other\n`,
        SVC_SCRIPT_WITH_MKDIR,
      ),
      "svc/mysvc.yaml": SPEC,
    });
    expect(pick(list, "LINT_SERVICE_CONTAINER_DIR")).toEqual([
      ["LINT_SERVICE_CONTAINER_DIR_MISSING", "error"],
    ]);
  });

  test("an image copied to the container directory makes it present", async () => {
    const list = await lint({
      "svc/pkg.yaml": pkg(
        "svc",
        `  - image: ghcr.io/x/app:v1@sha256:${"a".repeat(64)}\n    from: /\n    to: /rootfs/usr/local/lib/containers/mysvc\n`,
        SVC_SCRIPT_WITH_MKDIR,
      ),
      "svc/mysvc.yaml": SPEC,
    });
    expect(pick(list, "LINT_SERVICE_CONTAINER_DIR")).toEqual([]);
    // The entrypoint may be in the image: lint cannot tell, so it says so.
    expect(pick(list, "LINT_SERVICE_ENTRYPOINT")).toEqual([
      ["LINT_SERVICE_ENTRYPOINT_UNVERIFIED", "warning"],
    ]);
  });
});

describe("entrypoints", () => {
  test("shipped through a stage dependency: no finding; certainly absent: a warning before the build", async () => {
    const files = (script: string) => ({
      "payload/pkg.yaml": pkg("payload", "", script),
      "svc/pkg.yaml": pkg("svc", "  - stage: payload\n", SVC_SCRIPT_WITH_MKDIR),
      "svc/mysvc.yaml": SPEC.replace("/mysvc", "/usr/bin/mysvc"),
    });
    const ok = await lint(
      files("install -D -m 0755 /pkg/mysvc /rootfs/usr/local/lib/containers/mysvc/usr/bin/mysvc"),
    );
    expect(pick(ok, "LINT_SERVICE_")).toEqual([]);
    const missing = await lint(files("mkdir -p /rootfs/usr/local/lib/containers/mysvc/usr/bin"));
    expect(pick(missing, "LINT_SERVICE_")).toEqual([["LINT_SERVICE_ENTRYPOINT_MISSING", "warning"]]);
  });
});

describe("manifest placement through finalize", () => {
  const MANIFEST =
    'version: v1alpha1\nmetadata:\n  name: a\n  version: "1.0.0"\n  compatibility:\n    talos:\n      version: ">= v1.10.0"\n';
  test("a whole /pkg finalized to / carries the manifest", async () => {
    const list = await lint({
      "a/pkg.yaml": "name: a\nvariant: scratch\nfinalize:\n  - from: /pkg\n    to: /\n",
      "a/manifest.yaml": MANIFEST,
    });
    expect(list.map((d) => d.code)).toEqual([]);
  });

  test("a manifest a build system may write is a warning, not an error", async () => {
    const list = await lint({
      "a/pkg.yaml":
        "name: a\nvariant: scratch\nsteps:\n  - install:\n      - ./gen-manifest --out /out\nfinalize:\n  - from: /out\n    to: /\n",
      "a/manifest.yaml": MANIFEST,
    });
    expect(list).toMatchObject([{ code: "LINT_MANIFEST_UNVERIFIED", severity: "warning" }]);
    expect(list[0]!.message).toContain("`gen-manifest` in a/pkg.yaml steps[0].install[0]");
  });
});

describe("broken graphs", () => {
  test("a cycle does not hang the content lints", async () => {
    tree = await makeTree({
      Pkgfile: PKGFILE,
      "a/pkg.yaml": pkg("a", "  - stage: b\n", SVC_SCRIPT_WITH_MKDIR),
      "a/mysvc.yaml": SPEC,
      "b/pkg.yaml": pkg("b", "  - stage: a\n", "mkdir -p /rootfs/usr/local/lib/containers/mysvc"),
    });
    const loaded = await loadTree({ root: tree.root, platform: "linux/amd64" });
    const list = await lintTree(loaded);
    expect(list.filter((d) => d.severity === "error")).toEqual([]);
  });
});

describe("Talos's path allow-list on the computed image", () => {
  const MANIFEST =
    'version: v1alpha1\nmetadata:\n  name: rules\n  version: "1.0.0"\n  compatibility:\n    talos:\n      version: ">= v1.10.0"\n';
  const ext = (script: string, finalize = "") =>
    `name: rules\nvariant: scratch\nsteps:\n  - install:\n      - mkdir -p /rootfs\n      - ${script}\nfinalize:\n  - from: /rootfs\n    to: /rootfs\n  - from: /pkg/manifest.yaml\n    to: /\n${finalize}`;

  test("a udev rule under /etc is an error at the instruction that puts it there", async () => {
    const list = await lint({
      "rules/pkg.yaml": ext("install -D -m 0644 /pkg/99-x.rules /rootfs/etc/udev/rules.d/99-x.rules"),
      "rules/99-x.rules": "# rule\n",
      "rules/manifest.yaml": MANIFEST,
    });
    expect(list).toMatchObject([
      { code: "LINT_PATH_NOT_ALLOWED", severity: "error", file: "rules/pkg.yaml", line: 6 },
    ]);
    expect(list[0]!.message).toContain("/etc/udev/rules.d/99-x.rules");
  });

  test("finalized straight from /pkg: reported at finalize; under /usr/lib/udev/rules.d: clean", async () => {
    const bad = await lint({
      "rules/pkg.yaml": ext("true", "  - from: /pkg/99-x.rules\n    to: /rootfs/etc/udev/rules.d/\n"),
      "rules/99-x.rules": "# rule\n",
      "rules/manifest.yaml": MANIFEST,
    });
    expect(bad).toMatchObject([{ code: "LINT_PATH_NOT_ALLOWED", severity: "error", line: 7 }]);
    const good = await lint({
      "rules/pkg.yaml": ext("true", "  - from: /pkg/99-x.rules\n    to: /rootfs/usr/lib/udev/rules.d/\n"),
      "rules/99-x.rules": "# rule\n",
      "rules/manifest.yaml": MANIFEST,
    });
    expect(good).toEqual([]);
  });

  test("through a stage dependency; a later opaque step that may delete makes it a warning", async () => {
    const files = (extra: string) => ({
      "helper/pkg.yaml": pkg("helper", "", "mkdir -p /rootfs/usr/bin && touch /rootfs/usr/bin/tool"),
      "rules/pkg.yaml": ext(extra).replace("steps:", "dependencies:\n  - stage: helper\nsteps:"),
      "rules/manifest.yaml": MANIFEST,
    });
    const certain = await lint(files("true"));
    expect(certain).toMatchObject([
      { code: "LINT_PATH_NOT_ALLOWED", severity: "error", file: "helper/pkg.yaml" },
    ]);
    const unsure = await lint(files("find /rootfs/usr/bin -type f -delete"));
    expect(unsure).toMatchObject([{ code: "LINT_PATH_NOT_ALLOWED", severity: "warning" }]);
    expect(unsure[0]!.message).toContain("`find` in rules/pkg.yaml");
  });

  test("a helper stage without a manifest is not an extension and is not checked", async () => {
    const list = await lint({
      "helper/pkg.yaml": pkg("helper", "", "mkdir -p /rootfs/usr/bin && touch /rootfs/usr/bin/tool"),
    });
    expect(list).toEqual([]);
  });
});
