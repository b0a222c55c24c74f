import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  type Fixture,
  GOOD_MANIFEST,
  GOOD_SERVICE,
  goodExtension,
  memoryTree,
  writeFixtureDir,
} from "../../test/support/fixtures.ts";
import { writeTar } from "../../test/support/tar-writer.ts";
import type { Diagnostic } from "../errors.ts";
import { TalosExtError } from "../errors.ts";
import {
  type ExtensionReport,
  readExtensionDir,
  type ValidateExtensionOptions,
  validateExtension,
  validateExtensionTree,
  validateExtensionTreeAsync,
} from "./index.ts";

const SPEC = "rootfs/usr/local/etc/containers/multipathd.yaml";

function check(fixture: Fixture, options: ValidateExtensionOptions = {}): ExtensionReport {
  return validateExtensionTree(memoryTree(fixture), options);
}

function only(report: ExtensionReport, code: string): Diagnostic {
  const found = report.diagnostics.filter((d) => d.code === code);
  expect(found, JSON.stringify(report.diagnostics, null, 1)).toHaveLength(1);
  return found[0]!;
}

const codes = (r: ExtensionReport) => r.diagnostics.map((d) => d.code);

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "talos-ext-validate-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("a good extension", () => {
  test("passes with no findings, and reports its manifest, services and file count", () => {
    const r = check(goodExtension());
    expect(r.diagnostics).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.manifest?.metadata.name).toBe("multipath-tools");
    expect(r.services).toHaveLength(1);
    expect(r.services[0]!.file).toBe(`mem:${SPEC}`);
    expect(r.services[0]!.spec.name).toBe("multipathd");
    expect(r.files).toBe(6);
  });
});

describe("structure (S1–S4)", () => {
  test("S1: any top-level entry besides manifest.yaml and rootfs is refused", () => {
    const d = only(check(goodExtension({ "README.md": "hi" })), "EXT_UNEXPECTED_FILE");
    expect(d).toMatchObject({
      severity: "error",
      message: 'unexpected file "README.md"',
      file: "mem:README.md",
    });
    expect(only(check(goodExtension({ extra: { type: "dir" } })), "EXT_UNEXPECTED_FILE").file).toBe(
      "mem:extra",
    );
  });

  test("S2: a missing manifest", () => {
    const r = check(goodExtension({ "manifest.yaml": undefined }));
    expect(only(r, "EXT_MANIFEST_MISSING")).toMatchObject({
      severity: "error",
      message: "extension manifest is missing",
      file: "mem",
    });
    expect(r.ok).toBe(false);
  });

  test("S3: a missing rootfs, or one that is not a directory", () => {
    const r = check({ "manifest.yaml": GOOD_MANIFEST });
    expect(only(r, "EXT_ROOTFS_MISSING")).toMatchObject({
      severity: "error",
      message: "extension rootfs is missing",
    });
    const f = check({ "manifest.yaml": GOOD_MANIFEST, rootfs: "not a dir" });
    expect(only(f, "EXT_ROOTFS_MISSING").file).toBe("mem:rootfs");
  });

  test('S4: version must be v1alpha1, and an empty manifest has version ""', () => {
    const r = check(goodExtension({ "manifest.yaml": GOOD_MANIFEST.replace("v1alpha1", "v1alpha2") }));
    expect(only(r, "EXT_MANIFEST_VERSION")).toMatchObject({
      severity: "error",
      message: 'unsupported manifest version: "v1alpha2"',
      file: "mem:manifest.yaml",
      line: 1,
      column: 10,
    });
    expect(r.manifest).toBeUndefined();
    const empty = check(goodExtension({ "manifest.yaml": "" }));
    expect(only(empty, "EXT_MANIFEST_VERSION").message).toBe('unsupported manifest version: ""');
    // Nothing that depends on a loaded manifest is checked after S4 fails.
    expect(codes(empty)).not.toContain("EXT_VERSION_FORMAT");
  });

  test("S5: YAML errors surface with their own code and position", () => {
    const r = check(goodExtension({ "manifest.yaml": "version: v1alpha1\nmetadata: [\n" }));
    const d = only(r, "YAML_SYNTAX");
    expect(d.file).toBe("mem:manifest.yaml");
    expect(d.line).toBeGreaterThan(0);
  });

  test("a manifest symlink is followed inside the tree, never out of it", () => {
    const inside = check(
      goodExtension({
        "manifest.yaml": { type: "symlink", target: "rootfs/usr/local/share/m.yaml" },
        "rootfs/usr/local/share/m.yaml": GOOD_MANIFEST,
      }),
    );
    expect(inside.ok).toBe(true);
    const outside = check(goodExtension({ "manifest.yaml": { type: "symlink", target: "/etc/passwd" } }));
    expect(only(outside, "EXT_ENTRY_UNREADABLE").message).toContain("points outside the extension");
  });
});

describe("contents (C1–C3)", () => {
  test("C2: device nodes, fifos and sockets are refused; regular files and symlinks are fine", () => {
    for (const type of ["char", "block", "fifo", "socket"] as const) {
      const r = check(goodExtension({ "rootfs/usr/local/dev0": { type } }));
      expect(only(r, "EXT_SPECIAL_FILE")).toMatchObject({
        severity: "error",
        message: 'special files are not allowed: "/usr/local/dev0"',
        file: "mem:rootfs/usr/local/dev0",
      });
    }
    expect(
      check(goodExtension({ "rootfs/usr/local/bin/l": { type: "symlink", target: "/etc/shadow" } })).ok,
    ).toBe(true);
  });

  test("C3: paths outside the allow-list are refused; directories never are", () => {
    const r = check(
      goodExtension({
        "rootfs/usr/lib64/a.so": "x",
        "rootfs/opt": { type: "dir" },
        "rootfs/etc/x": { type: "dir" },
      }),
    );
    expect(only(r, "EXT_PATH_NOT_ALLOWED")).toMatchObject({
      severity: "error",
      message: 'path "/usr/lib64/a.so" is not allowed in extensions',
      file: "mem:rootfs/usr/lib64/a.so",
    });
    // Symlinks are checked by their own path.
    const link = check(
      goodExtension({ "rootfs/usr/bin/tool": { type: "symlink", target: "/usr/local/bin/tool" } }),
    );
    expect(only(link, "EXT_PATH_NOT_ALLOWED").file).toBe("mem:rootfs/usr/bin/tool");
  });

  test("C3 follows the allow-list of the chosen Talos version", () => {
    const legacy = goodExtension({
      "manifest.yaml": GOOD_MANIFEST.replace(">= v1.10.0", ">= v1.9.0"),
      "rootfs/lib/modules/6.1.0-talos/extras/a.ko": "ko",
    });
    expect(
      check(legacy, { talosVersion: "v1.9.5" }).diagnostics.filter((d) => d.severity === "error"),
    ).toEqual([]);
    const legacyOnNew = check(legacy, { talosVersion: "v1.10.0" });
    expect(only(legacyOnNew, "EXT_PATH_NOT_ALLOWED").hint).toContain("usr-merged");

    const usr = goodExtension({
      "manifest.yaml": GOOD_MANIFEST.replace(">= v1.10.0", ">= v1.9.0"),
      "rootfs/usr/lib/modules/6.1.0-talos/extras/a.ko": "ko",
    });
    expect(only(check(usr, { talosVersion: "v1.9.0" }), "EXT_PATH_NOT_ALLOWED").hint).toContain(
      "/lib/modules",
    );
    expect(check(usr, { talosVersion: "v1.10.0" }).ok).toBe(true);

    const loader = goodExtension({ "rootfs/usr/lib/ld-linux-aarch64.so.1": "ld" });
    expect(codes(check(loader, { talosVersion: "v1.11.3" }))).toContain("EXT_PATH_NOT_ALLOWED");
    expect(check(loader, { talosVersion: "v1.12.0" }).ok).toBe(true);

    const nvme = goodExtension({ "rootfs/usr/bin/nvme": "nvme" });
    expect(codes(check(nvme, { talosVersion: "v1.12.4" }))).toContain("EXT_PATH_NOT_ALLOWED");
    expect(check(nvme, { talosVersion: "v1.13.0" }).ok).toBe(true);
  });

  test("paths that pass only as raw string prefixes get a boundary warning, as Talos accepts them", () => {
    for (const [path, prefix] of [
      ["rootfs/usr/localfoo", "/usr/local"],
      ["rootfs/usr/lib/modules-load.d/x.conf", "/usr/lib/modules"],
      ["rootfs/etc/ld.so.conf.d/x.conf", "/etc/ld.so.conf"],
      ["rootfs/usr/bin/nvme-cli", "/usr/bin/nvme"],
    ] as const) {
      const r = check(goodExtension({ [path]: "x" }));
      expect(r.ok).toBe(true);
      const d = only(r, "LINT_PATH_PREFIX_BOUNDARY");
      expect(d).toMatchObject({ severity: "warning", file: `mem:${path}` });
      expect(d.message).toContain(`"${prefix}"`);
    }
    expect(
      check(goodExtension({ "rootfs/usr/bin/nvme": "x", "rootfs/usr/lib/ld-linux-x86-64.so.2": "x" }))
        .diagnostics,
    ).toEqual([]);
  });

  test("C1: world-writable files are a warning, stricter than Talos; directories and symlinks are not checked", () => {
    const r = check(goodExtension({ "rootfs/usr/local/bin/x": { type: "file", data: "x", mode: 0o666 } }));
    const d = only(r, "EXT_WORLD_WRITABLE");
    expect(d).toMatchObject({ severity: "warning", file: "mem:rootfs/usr/local/bin/x" });
    expect(d.message).toContain("stricter than Talos");
    expect(r.ok).toBe(true);
    expect(
      check(goodExtension({ "rootfs/usr/local/tmp": { type: "dir", mode: 0o777 } })).diagnostics,
    ).toEqual([]);
  });
});

describe("extensions-validator checks", () => {
  test("--pkg-name must equal metadata.name", () => {
    expect(check(goodExtension(), { pkgName: "multipath-tools" }).ok).toBe(true);
    const d = only(check(goodExtension(), { pkgName: "multipath" }), "EXT_PKG_NAME_MISMATCH");
    expect(d).toMatchObject({
      severity: "error",
      message: "pkg name does not match extension name: multipath != multipath-tools",
      file: "mem:manifest.yaml",
      line: 3,
      column: 9,
    });
  });

  test.each([
    ["1.2.3", true],
    ["v0.13.0-rc.1", true],
    ["20240101", true],
    ["20240101.1", true],
    ["535.129.03-v1.8.0-alpha.0-10-g336fa0f-dirty", true],
    ["5815ee3-v1.8.0-alpha.0-10-g336fa0f", true],
    ["v4.3", true],
    ["1.2.3+build", false],
    ["latest", false],
    ["1", false],
  ])("metadata.version %j matches a format: %s", (version, ok) => {
    const r = check(
      goodExtension({ "manifest.yaml": GOOD_MANIFEST.replace('"0.13.0"', JSON.stringify(version)) }),
    );
    if (ok) expect(codes(r)).not.toContain("EXT_VERSION_FORMAT");
    else {
      expect(only(r, "EXT_VERSION_FORMAT")).toMatchObject({
        severity: "error",
        message: `invalid version format ${version} for extension: multipath-tools`,
        file: "mem:manifest.yaml",
        line: 4,
      });
    }
  });

  test("constraints: unsatisfied and unparsable, with Talos's texts at the constraint's position", () => {
    const withConstraint = (c: string) =>
      goodExtension({ "manifest.yaml": GOOD_MANIFEST.replace(">= v1.10.0", c) });
    expect(check(withConstraint(">= v1.9.0"), { talosVersion: "v1.14.0-beta.1" }).ok).toBe(true);
    const un = only(
      check(withConstraint("< 1.14.0"), { talosVersion: "v1.14.0-beta.1" }),
      "EXT_CONSTRAINT_UNSATISFIED",
    );
    expect(un).toMatchObject({
      severity: "error",
      message: "version constraint < 1.14.0 can't be satisfied with Talos version 1.14.0-beta.1",
      file: "mem:manifest.yaml",
      line: 10,
    });
    const bad = only(check(withConstraint(">= v1.10")), "EXT_CONSTRAINT_INVALID");
    expect(bad.message).toMatch(/^error parsing Talos version constraint: Could not parse Range ">=1.10"/);
    expect(bad.line).toBe(10);
  });

  test("every top-level rootfs/usr/local/etc/containers/*.yaml is decoded and validated", () => {
    const r = check(goodExtension({ [SPEC]: GOOD_SERVICE.replace("restart: always\n", "") }));
    expect(only(r, "SCHEMA_SERVICE_INVALID")).toMatchObject({
      severity: "error",
      message: "restart kind is invalid: RestartKind(0)",
      file: `mem:${SPEC}`,
    });
    const yaml = check(goodExtension({ [SPEC]: "name: [\n" }));
    expect(only(yaml, "YAML_SYNTAX").file).toBe(`mem:${SPEC}`);
  });

  test(".yml files and subdirectories are never loaded and get a warning", () => {
    const r = check(
      goodExtension({
        "rootfs/usr/local/etc/containers/other.yml": "name: [\n",
        "rootfs/usr/local/etc/containers/sub/x.yaml": "name: [\n",
      }),
    );
    expect(codes(r).filter((c) => c === "LINT_SERVICE_SPEC_IGNORED")).toHaveLength(2);
    expect(codes(r)).not.toContain("YAML_SYNTAX");
    expect(r.ok).toBe(true);
  });
});

describe("service lints on a whole extension", () => {
  test("a missing container directory is an error that points at the misnamed one", () => {
    const r = check(
      goodExtension({
        "rootfs/usr/local/lib/containers/multipathd": undefined,
        "rootfs/usr/local/lib/containers/multipath": { type: "dir" },
      }),
    );
    const d = only(r, "LINT_SERVICE_CONTAINER_DIR_MISSING");
    expect(d).toMatchObject({ severity: "error", file: `mem:${SPEC}`, line: 1, column: 7 });
    expect(d.hint).toContain("/usr/local/lib/containers/multipath/");
  });

  test("service name vs spec file name", () => {
    const r = check(
      goodExtension({
        [SPEC]: undefined,
        "rootfs/usr/local/etc/containers/multipath.yaml": GOOD_SERVICE,
      }),
    );
    expect(only(r, "LINT_SERVICE_NAME_MISMATCH")).toMatchObject({
      severity: "warning",
      file: "mem:rootfs/usr/local/etc/containers/multipath.yaml",
      line: 1,
    });
  });

  test("entrypoint: found through a bind mount of the extension's own files, missing otherwise", () => {
    const r = check(goodExtension({ "rootfs/usr/local/sbin/multipathd": undefined }));
    expect(only(r, "LINT_SERVICE_ENTRYPOINT_MISSING")).toMatchObject({
      severity: "error",
      file: `mem:${SPEC}`,
      line: 3,
    });
    // Shipped inside the container rootfs instead (with no bind mount over it): fine.
    const inContainer = GOOD_SERVICE.replace(/ {4}- source: \/usr\/local\/sbin\n(.*\n){3}/, "");
    const ok = check(
      goodExtension({
        [SPEC]: inContainer,
        "rootfs/usr/local/sbin/multipathd": undefined,
        "rootfs/usr/local/lib/containers/multipathd/usr/local/sbin/multipathd": "elf",
      }),
    );
    expect(ok.diagnostics).toEqual([]);
    // A container-internal absolute symlink resolves inside the container root.
    const viaLink = check(
      goodExtension({
        [SPEC]: inContainer,
        "rootfs/usr/local/sbin/multipathd": undefined,
        "rootfs/usr/local/lib/containers/multipathd/usr/local/sbin": { type: "symlink", target: "/bin" },
        "rootfs/usr/local/lib/containers/multipathd/bin/multipathd": "elf",
      }),
    );
    expect(viaLink.diagnostics).toEqual([]);
  });

  test("duplicate service names: Talos skips the second spec", () => {
    const r = check(goodExtension({ "rootfs/usr/local/etc/containers/zz.yaml": GOOD_SERVICE }));
    expect(only(r, "LINT_SERVICE_DUPLICATE_NAME")).toMatchObject({
      severity: "error",
      file: "mem:rootfs/usr/local/etc/containers/zz.yaml",
    });
  });

  test("multipathd without /run/udev", () => {
    const noUdev = GOOD_SERVICE.replace(/ {4}- source: \/run\/udev\n(.*\n){3}/, "");
    expect(only(check(goodExtension({ [SPEC]: noUdev })), "LINT_MULTIPATHD_RUN_UDEV").severity).toBe("error");
  });
});

describe("kernel modules", () => {
  test("modules belong under usr/lib/modules/<release>/", () => {
    expect(
      check(goodExtension({ "rootfs/usr/lib/modules/6.18.45-talos/extras/dm-x.ko.xz": "ko" })).diagnostics,
    ).toEqual([]);
    const flat = check(goodExtension({ "rootfs/usr/lib/modules/dm-x.ko": "ko" }));
    const errors = flat.diagnostics.filter((d) => d.code === "LINT_KERNEL_MODULE_PATH");
    expect(errors.map((d) => [d.severity, d.file])).toEqual([
      ["error", "mem:rootfs/usr/lib/modules"],
      ["error", "mem:rootfs/usr/lib/modules/dm-x.ko"],
    ]);
    const elsewhere = check(goodExtension({ "rootfs/usr/local/lib/dm-x.ko.zst": "ko" }));
    expect(only(elsewhere, "LINT_KERNEL_MODULE_PATH")).toMatchObject({
      severity: "warning",
      file: "mem:rootfs/usr/local/lib/dm-x.ko.zst",
    });
  });

  test("an empty usr/lib/modules triggers depmod and fails the build", () => {
    const r = check(goodExtension({ "rootfs/usr/lib/modules": { type: "dir" } }));
    expect(only(r, "LINT_KERNEL_MODULE_PATH")).toMatchObject({
      severity: "error",
      file: "mem:rootfs/usr/lib/modules",
    });
  });

  test("with a known kernel release, other releases are errors", () => {
    const fx = goodExtension({ "rootfs/usr/lib/modules/6.1.0-talos/extras/a.ko": "ko" });
    expect(check(fx, { kernelRelease: "6.1.0-talos" }).ok).toBe(true);
    const r = check(fx, { kernelRelease: "6.18.45-talos" });
    expect(r.diagnostics.filter((d) => d.code === "LINT_KERNEL_MODULE_PATH").map((d) => d.file)).toEqual([
      "mem:rootfs/usr/lib/modules",
      "mem:rootfs/usr/lib/modules/6.1.0-talos/extras/a.ko",
    ]);
  });
});

describe("inputs", () => {
  test("a directory, walked without following symlinks out of it", async () => {
    const dir = await writeFixtureDir(
      join(tmp, "dir-ext"),
      goodExtension({ "rootfs/usr/local/fifo": { type: "fifo" } }),
    );
    const outside = join(tmp, "outside");
    await mkdir(outside, { recursive: true });
    await writeFile(join(outside, "secret.yaml"), "name: [\n");
    await symlink(outside, join(dir, "rootfs/usr/local/escape"));
    await symlink(join(outside, "secret.yaml"), join(dir, "rootfs/usr/local/etc/containers/evil.yaml"));
    const r = await validateExtension(dir);
    expect(only(r, "EXT_SPECIAL_FILE").file).toBe(`${dir}/rootfs/usr/local/fifo`);
    // The symlinked spec is reported as unreadable, not read from outside the extension.
    expect(only(r, "EXT_ENTRY_UNREADABLE").file).toBe(`${dir}/rootfs/usr/local/etc/containers/evil.yaml`);
    expect(codes(r)).not.toContain("YAML_SYNTAX");
    const tree = await readExtensionDir(dir);
    expect(tree.entries.find((e) => e.path === "rootfs/usr/local/escape")?.type).toBe("symlink");
    expect(tree.entries.some((e) => e.path.startsWith("rootfs/usr/local/escape/"))).toBe(false);
  });

  test("tars made by GNU tar, plain, gzip and zstd", async () => {
    const dir = await writeFixtureDir(join(tmp, "tar-src"), goodExtension({ "rootfs/usr/lib64/x.so": "x" }));
    for (const [name, flags] of [
      ["ext.tar", ["-cf"]],
      ["ext.tar.gz", ["-czf"]],
      ["ext.tar.zst", ["--zstd", "-cf"]],
    ] as const) {
      const file = join(tmp, name);
      execFileSync("tar", ["-C", dir, ...flags, file, "."]);
      const r = await validateExtension(file);
      expect(r.manifest?.metadata.name).toBe("multipath-tools");
      expect(r.services.map((s) => s.spec.name)).toEqual(["multipathd"]);
      expect(only(r, "EXT_PATH_NOT_ALLOWED").file).toBe(`${file}:rootfs/usr/lib64/x.so`);
    }
  });

  test("an archive entry escaping the root is refused before anything is validated", async () => {
    const file = join(tmp, "evil.tar");
    await writeFile(
      file,
      writeTar([
        { name: "manifest.yaml", data: GOOD_MANIFEST },
        { name: "../../etc/cron.d/x", data: "x" },
      ]),
    );
    await expect(validateExtension(file)).rejects.toMatchObject({
      code: "EXT_PATH_TRAVERSAL",
      location: { file },
    });
  });

  test("a legacy docker-save archive is refused with a conversion hint", async () => {
    const file = join(tmp, "docker.tar");
    await writeFile(
      file,
      writeTar([
        { name: "manifest.json", data: "[]" },
        { name: "repositories", data: "{}" },
      ]),
    );
    await expect(validateExtension(file)).rejects.toMatchObject({ code: "EXT_INPUT_UNSUPPORTED" });
  });

  test("missing inputs and bad Talos versions are thrown as TalosExtError", async () => {
    await expect(validateExtension(join(tmp, "nope"))).rejects.toMatchObject({ code: "EXT_INPUT_NOT_FOUND" });
    expect(() => check(goodExtension(), { talosVersion: "banana" })).toThrow(TalosExtError);
    await expect(validateExtension(join(tmp, "nope"), { talosVersion: "banana" })).rejects.toMatchObject({
      code: "EXT_TALOS_VERSION_INVALID",
    });
  });

  test("asynchronous reads need the async variant; the sync one reports them as unreadable", async () => {
    const tree = memoryTree(goodExtension());
    const lazy = {
      ...tree,
      entries: tree.entries.map((e) => (e.read ? { ...e, read: async () => e.read!() as Uint8Array } : e)),
    };
    expect((await validateExtensionTreeAsync(lazy)).ok).toBe(true);
    const sync = validateExtensionTree(lazy);
    expect(sync.diagnostics.map((d) => d.code)).toEqual(["EXT_ENTRY_UNREADABLE", "EXT_ENTRY_UNREADABLE"]);
  });
});
