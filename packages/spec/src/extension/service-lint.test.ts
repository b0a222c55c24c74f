import { describe, expect, test } from "vitest";
import { GOOD_SERVICE } from "../../test/support/fixtures.ts";
import { decodeServiceSpec } from "../schema/index.ts";
import { decodeYaml } from "../yaml/decode.ts";
import { lintServiceSpec, type ServiceLintContext } from "./service-lint.ts";

const FILE = "pkg/multipathd.yaml";

function lint(yaml: string, ctx: Partial<ServiceLintContext> = {}) {
  const doc = decodeYaml(yaml, { file: FILE });
  const { value, diagnostics } = decodeServiceSpec(doc);
  expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return lintServiceSpec(value!, {
    file: FILE,
    locate: doc.locate,
    hasPath: () => undefined,
    otherServices: [value!.name],
    ...ctx,
  });
}

const codes = (ds: { code: string }[]) => ds.map((d) => d.code);

/** hasPath backed by a set of node paths (and their parent directories). */
function paths(...list: string[]): (p: string) => boolean {
  const all = new Set<string>();
  for (const p of list) {
    const parts = p.split("/");
    for (let i = 2; i <= parts.length; i++) all.add(parts.slice(0, i).join("/"));
  }
  return (p) => all.has(p);
}

describe("lintServiceSpec", () => {
  test("the known-good multipathd spec is clean, with or without knowledge of the files", () => {
    expect(lint(GOOD_SERVICE)).toEqual([]);
    expect(
      lint(GOOD_SERVICE, {
        hasPath: paths("/usr/local/lib/containers/multipathd", "/usr/local/sbin/multipathd"),
      }),
    ).toEqual([]);
  });

  test("rules whose inputs are unknown are skipped", () => {
    const noEntrypoint = GOOD_SERVICE.replace("/usr/local/sbin/multipathd", "/opt/x");
    expect(lint(noEntrypoint)).toEqual([]);
    expect(codes(lint(noEntrypoint, { hasPath: paths("/usr/local/lib/containers/multipathd") }))).toEqual([
      "LINT_SERVICE_ENTRYPOINT_MISSING",
    ]);
  });

  test("LINT_SERVICE_CONTAINER_DIR_MISSING", () => {
    const ds = lint(GOOD_SERVICE, {
      hasPath: paths("/usr/local/sbin/multipathd"),
      containerDirs: ["multipath"],
    });
    expect(ds).toHaveLength(1);
    expect(ds[0]).toMatchObject({
      code: "LINT_SERVICE_CONTAINER_DIR_MISSING",
      severity: "error",
      file: FILE,
      line: 1,
      column: 7,
    });
    expect(ds[0]!.hint).toContain("containers/multipath/");
  });

  test("LINT_SERVICE_NAME_MISMATCH uses the spec file name, not the service name", () => {
    expect(lint(GOOD_SERVICE, { specFileName: "multipathd.yaml" })).toEqual([]);
    const ds = lint(GOOD_SERVICE, { specFileName: "mpath.yaml" });
    expect(ds.map((d) => [d.code, d.severity, d.line])).toEqual([
      ["LINT_SERVICE_NAME_MISMATCH", "warning", 1],
    ]);
  });

  test("LINT_SERVICE_ENTRYPOINT_MISSING: a bind mount hides the container rootfs below it", () => {
    const has = paths(
      "/usr/local/lib/containers/multipathd/usr/local/sbin/multipathd",
      "/usr/local/sbin/other",
    );
    // The /usr/local/sbin bind mount shadows the copy inside the container rootfs.
    const ds = lint(GOOD_SERVICE, { hasPath: has });
    expect(ds.map((d) => [d.code, d.severity, d.line, d.column])).toEqual([
      ["LINT_SERVICE_ENTRYPOINT_MISSING", "error", 3, 15],
    ]);
  });

  test("entrypoints under host bind mounts (outside /usr/local) count as present", () => {
    const spec = GOOD_SERVICE.replace("/usr/local/sbin/multipathd", "/lib/ld-musl-x86_64.so.1");
    expect(lint(spec, { hasPath: paths("/usr/local/lib/containers/multipathd") })).toEqual([]);
  });

  test("bare entrypoints are looked up in the container PATH", () => {
    const spec = (env: string) => `name: svc\ncontainer:\n  entrypoint: svc\n${env}\nrestart: always\n`;
    const base = "/usr/local/lib/containers/svc";
    expect(lint(spec(""), { specFileName: "svc.yaml", hasPath: paths(`${base}/usr/bin/svc`) })).toEqual([]);
    expect(codes(lint(spec(""), { specFileName: "svc.yaml", hasPath: paths(`${base}/opt/svc`) }))).toEqual([
      "LINT_SERVICE_ENTRYPOINT_MISSING",
    ]);
    const withPath = spec("  environment: [PATH=/opt]");
    expect(lint(withPath, { specFileName: "svc.yaml", hasPath: paths(`${base}/opt/svc`) })).toEqual([]);
  });

  test("LINT_SERVICE_WAITS_FOR_CONFIG", () => {
    const ds = lint(GOOD_SERVICE.replace("restart: always", "  - configuration: true\nrestart: always"));
    expect(ds.map((d) => [d.code, d.severity, d.line])).toEqual([
      ["LINT_SERVICE_WAITS_FOR_CONFIG", "warning", 34],
    ]);
    expect(ds[0]!.message).toContain('ExtensionServiceConfig named "multipathd"');
    expect(lint(GOOD_SERVICE.replace("restart: always", "  - time: true\nrestart: always"))).toEqual([]);
  });

  test("LINT_SERVICE_UNKNOWN_DEPENDENCY", () => {
    const dep = (s: string, others: string[] = []) =>
      lint(GOOD_SERVICE.replace("service: udevd", `service: ${s}`), {
        otherServices: ["multipathd", ...others],
      });
    for (const ok of ["cri", "kubelet", "containerd", "udevd", "syslogd"]) expect(dep(ok)).toEqual([]);
    expect(dep("ext-iscsid", ["iscsid"])).toEqual([]);
    const typo = dep("udev");
    expect(typo.map((d) => [d.code, d.severity, d.line])).toEqual([
      ["LINT_SERVICE_UNKNOWN_DEPENDENCY", "error", 32],
    ]);
    expect(typo[0]!.hint).toContain('"udevd"');
    const bare = dep("iscsid", ["iscsid"]);
    expect(bare[0]!.hint).toContain('"ext-iscsid"');
    expect(dep("ext-other").map((d) => d.severity)).toEqual(["warning"]);
    expect(dep("ext-multipathd").map((d) => [d.severity, d.message])).toEqual([
      ["error", 'service "multipathd" depends on itself (ext-multipathd) and never starts'],
    ]);
  });

  test("LINT_SERVICE_ROOTFS_PROPAGATION", () => {
    const spec = (v: string) =>
      GOOD_SERVICE.replace("    readonlyPaths: []", `    readonlyPaths: []\n    rootfsPropagation: ${v}`);
    expect(lint(spec("rshared"))).toEqual([]);
    const ds = lint(spec("rshare"));
    expect(ds.map((d) => [d.code, d.severity, d.line])).toEqual([
      ["LINT_SERVICE_ROOTFS_PROPAGATION", "error", 9],
    ]);
    expect(ds[0]!.hint).toContain('"rshared"');
  });

  test("LINT_MULTIPATHD_RUN_UDEV, also when only the entrypoint is multipathd; a /run mount covers it", () => {
    const noUdev = GOOD_SERVICE.replace(/ {4}- source: \/run\/udev\n(.*\n){3}/, "");
    expect(lint(noUdev).map((d) => [d.code, d.severity, d.line])).toEqual([
      ["LINT_MULTIPATHD_RUN_UDEV", "error", 9],
    ]);
    const renamed = noUdev.replace("name: multipathd", "name: mpath");
    expect(codes(lint(renamed, { specFileName: "mpath.yaml" }))).toEqual(["LINT_MULTIPATHD_RUN_UDEV"]);
    const run = noUdev.replace(
      "    - source: /dev\n",
      "    - source: /run\n      destination: /run\n      type: bind\n      options: [rbind]\n    - source: /dev\n",
    );
    expect(lint(run)).toEqual([]);
  });
});
