import { loadTree, resolveGraph } from "@talos-ext/spec";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { HEX64, HEX128, PKGFILE, type TempDir, writeTree } from "../../test/tree.ts";
import { applyMirrors, parseMirror } from "./mirrors.ts";
import { planBuild } from "./plan.ts";

let tree: TempDir;

beforeAll(async () => {
  tree = await writeTree({
    Pkgfile: `${PKGFILE}labels:\n  org.opencontainers.image.source: https://example.invalid/x\n`,
    "lib/pkg.yaml": [
      "name: lib",
      "variant: scratch",
      "dependencies:",
      "  - image: ghcr.io/siderolabs/tools:v1",
      "  - stage: rt",
      "    runtime: true",
      "    to: /opt/rt",
      "steps:",
      "  - cachePaths: [/.cache/go-build]",
      "    build: [make]",
      "finalize:",
      "  - from: /rootfs",
      "    to: /rootfs",
    ].join("\n"),
    "rt/pkg.yaml": "name: rt\nvariant: scratch\nfinalize:\n  - from: /pkg\n    to: /\n",
    "rt/file.txt": "rt\n",
    "app/pkg.yaml": [
      "name: app",
      "variant: scratch",
      "shell: /bin/bash",
      "dependencies:",
      "  - image: ghcr.io/siderolabs/tools:v1",
      "  - stage: lib",
      "  - stage: lib",
      "    from: /usr/lib",
      "    to: /rootfs/usr/lib",
      "  - stage: lib",
      "    from: /other",
      "steps:",
      "  - sources:",
      "      - url: https://example.invalid/app.tar.gz",
      "        destination: app.tar.gz",
      `        sha256: ${HEX64}`,
      `        sha512: ${HEX128}`,
      "    env:",
      "      GOPATH: $HOME/go",
      "      CGO_ENABLED: 0",
      "    network: default",
      "    prepare: [tar -xzf app.tar.gz]",
      "    build: [make]",
      "    test: [make check]",
      "  - install: [make install DESTDIR=/rootfs]",
      "finalize:",
      "  - from: /rootfs",
      "    to: /rootfs",
      "  - from: /pkg/manifest.yaml",
      "    to: /",
    ].join("\n"),
    "app/manifest.yaml.tmpl": "version: v1alpha1\nmetadata:\n  name: app\n  version: '{{ .ARCH }}'\n",
    "app/.hidden": "x",
  });
});
afterAll(() => tree.cleanup());

async function plan(syntax: "modern" | "legacy" = "modern") {
  const t = await loadTree({ root: tree.root, platform: "linux/amd64" });
  expect(t.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  const graph = resolveGraph(t, "app");
  return planBuild(t, graph, {
    platform: "linux/amd64",
    syntax,
    mirrors: [parseMirror("ghcr.io/siderolabs=registry.internal/mirror")],
  });
}

describe("planBuild", () => {
  test("orders packages dependencies first and names the final stage", async () => {
    const p = await plan();
    expect(p.packages).toEqual(["rt", "lib", "app"]);
    expect(p.finalStage).toBe("pkg-app-final");
    expect(p.needsEngine).toBe(true);
    expect(p.labels).toEqual({ "org.opencontainers.image.source": "https://example.invalid/x" });
  });

  test("mirrors image references", async () => {
    const p = await plan();
    expect(p.images).toEqual([
      { ref: "ghcr.io/siderolabs/tools:v1", resolved: "registry.internal/mirror/tools:v1" },
    ]);
    expect(p.dockerfile).toContain("FROM registry.internal/mirror/tools:v1 AS img-0");
  });

  test("merges dependencies in bldr order with de-duplication by image-stage-to", () => {
    return plan().then((p) => {
      const app = p.dockerfile.slice(p.dockerfile.indexOf("# ---- app"));
      const copies = app.split("\n").filter((l) => /^COPY --from=(img-\d+|pkg-[a-z]+-final) /.test(l));
      // lib, then its runtime dep rt (with rt's from/to as written in lib), then the second lib
      // entry with another `to`; the third lib entry has the same (absent) `to` as the first and is dropped.
      expect(copies).toEqual([
        "COPY --from=img-0 / /",
        "COPY --from=pkg-lib-final / /",
        "COPY --from=pkg-rt-final / /opt/rt",
        "COPY --from=pkg-lib-final /usr/lib /rootfs/usr/lib",
      ]);
    });
  });

  test("sets built-in env, keeps step env literal, and runs each script item on its own", async () => {
    const p = await plan();
    expect(p.dockerfile).toContain('ARCH="x86_64"');
    expect(p.dockerfile).toContain('CFLAGS="-O2 -g0 -march=x86-64-v2 -mtune=generic"');
    expect(p.dockerfile).toContain('ENV CGO_ENABLED="0" GOPATH="\\$HOME/go"');
    expect(p.dockerfile).toContain('ENV PKG_NAME="app"');
    const runs = p.runs.filter((r) => r.package === "app").map((r) => r.label);
    expect(runs).toEqual(["app:prepare-0#0", "app:build-0#0", "app:test-0#0", "app:install-1#0"]);
    expect(p.dockerfile).toContain(
      '"/bin/bash","-c","set -eou pipefail\\n# talos-ext step: app:prepare-0#0\\ntar -xzf app.tar.gz"',
    );
  });

  test("per-step network and cache mounts with bldr's ids", async () => {
    const p = await plan();
    expect(p.dockerfile).toMatch(
      /RUN --network=default \["\/bin\/bash","-c","set -eou pipefail\\n# talos-ext step: app:prepare-0/,
    );
    expect(p.dockerfile).toMatch(
      /RUN --network=none \["\/bin\/bash","-c","set -eou pipefail\\n# talos-ext step: app:install-1/,
    );
    expect(p.dockerfile).toContain(
      "--mount=type=cache,target=/.cache/go-build,id=.cache/go-build,sharing=shared",
    );
    expect(p.network).toBe("none");
  });

  test("legacy frontends get one build-wide network and a diagnostic", async () => {
    const p = await plan("legacy");
    expect(p.dockerfile).not.toContain("--network=");
    expect(p.network).toBe("default");
    expect(p.diagnostics.map((d) => d.code)).toContain("BUILD_NETWORK_BUILD_WIDE");
  });

  test("detaches tests and finalizes into an empty stage owned by root", async () => {
    const p = await plan();
    expect(p.dockerfile).toContain("FROM pkg-app-build AS pkg-app-test-0");
    expect(p.dockerfile).toContain("FROM pkg-app-build AS pkg-app-step-0");
    expect(p.dockerfile).toContain("COPY --from=pkg-app-test-0 /.bldr/empty/ /");
    expect(p.dockerfile).toContain("COPY --from=pkg-app-step-0 --chown=0:0 /rootfs /rootfs");
    expect(p.dockerfile).toContain("COPY --from=pkg-app-step-0 --chown=0:0 /pkg/manifest.yaml /");
    // rt has no steps: its relative finalize `from` resolves against /pkg.
    expect(p.dockerfile).toContain("COPY --from=pkg-rt-build --chown=0:0 /pkg /");
  });

  test("lists sources for the host to fetch and the package dirs with rendered templates", async () => {
    const p = await plan();
    expect(p.sources).toMatchObject([
      { package: "app", step: 0, destination: "app.tar.gz", contextPath: `src/${HEX64}` },
    ]);
    expect(p.dockerfile).toContain(`COPY src/${HEX64} /tmp/build/app.tar.gz`);
    const app = p.contextDirs.find((c) => c.package === "app")!;
    expect(app.templated).toEqual([
      { path: "manifest.yaml", content: "version: v1alpha1\nmetadata:\n  name: app\n  version: 'x86_64'\n" },
    ]);
  });
});

describe("image mirrors", () => {
  test("rewrite at a path boundary only, including Docker Hub short names", () => {
    const m = [parseMirror("ghcr.io/siderolabs=mirror.local/sl"), parseMirror("docker.io=hub.local")];
    expect(applyMirrors("ghcr.io/siderolabs/tools:v1", m)).toBe("mirror.local/sl/tools:v1");
    expect(applyMirrors("ghcr.io/siderolabsx/tools:v1", m)).toBe("ghcr.io/siderolabsx/tools:v1");
    expect(applyMirrors("alpine:3.21", m)).toBe("hub.local/library/alpine:3.21");
    expect(applyMirrors("quay.io/x/y@sha256:abc", m)).toBe("quay.io/x/y@sha256:abc");
  });

  test("bad mirror syntax is a clear error", () => {
    expect(() => parseMirror("nothing")).toThrow(expect.objectContaining({ code: "BUILD_BAD_MIRROR" }));
  });
});
