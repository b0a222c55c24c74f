import { describe, expect, expectTypeOf, test } from "vitest";
import type { z } from "zod";
import type { Diagnostic } from "../errors.ts";
import { decodeYaml } from "../yaml/decode.ts";
import { decodePkg, type Pkg, type pkgSchema } from "./pkg.ts";

const decode = (text: string) => decodePkg(decodeYaml(text, { file: "pkg.yaml" }));
const brief = (d: Diagnostic) => ({
  code: d.code,
  severity: d.severity,
  message: d.message,
  line: d.line,
  column: d.column,
});
const briefs = (text: string) => decode(text).diagnostics.map(brief);

const HEAD = "name: foo\nvariant: alpine\n";
const SHA256 = "a".repeat(64);
const SHA512 = "b".repeat(128);

describe("decodePkg: a valid package", () => {
  test("decodes with bldr's defaults and keeps optional fields as written", () => {
    const r = decode(`name: app
variant: scratch
install:
  - bash
dependencies:
  - stage: base
  - image: docker.io/library/alpine:3.21
    from: /usr
    to: /
    platform: linux/arm64
    runtime: true
steps:
  - sources:
      - url: https://example.invalid/x.tar.gz
        destination: x.tar.gz
        sha256: ${SHA256}
        sha512: ${SHA512}
    env:
      CGO_ENABLED: 0
    cachePaths: [/root/.cache]
    prepare:
      - tar xf x.tar.gz
    build:
      - make
    sbom:
      outputPath: /rootfs/usr/share/spdx/app.spdx.json
      cpes: [cpe:2.3:a:x:app:1.0:*:*:*:*:*:*:*]
finalize:
  - from: /rootfs
    to: /
  - to: /extra
`);
    expect(r.diagnostics).toEqual([]);
    expect(r.value).toEqual<Pkg>({
      name: "app",
      variant: "scratch",
      shell: "/bin/sh",
      install: ["bash"],
      dependencies: [
        { stage: "base", runtime: false },
        {
          image: "docker.io/library/alpine:3.21",
          from: "/usr",
          to: "/",
          platform: "linux/arm64",
          runtime: true,
        },
      ],
      steps: [
        {
          sources: [
            {
              url: "https://example.invalid/x.tar.gz",
              destination: "x.tar.gz",
              sha256: SHA256,
              sha512: SHA512,
            },
          ],
          env: { CGO_ENABLED: "0" },
          cachePaths: ["/root/.cache"],
          prepare: ["tar xf x.tar.gz"],
          build: ["make"],
          install: [],
          test: [],
          network: "none",
          sbom: {
            outputPath: "/rootfs/usr/share/spdx/app.spdx.json",
            cpes: ["cpe:2.3:a:x:app:1.0:*:*:*:*:*:*:*"],
          },
        },
      ],
      finalize: [{ from: "/rootfs", to: "/" }, { to: "/extra" }],
    });
  });

  test("the output type is the Pkg interface", () => {
    expectTypeOf<z.output<typeof pkgSchema>>().toEqualTypeOf<Pkg>();
  });

  test("scalars keep their text in string fields; ~ and empty become empty strings", () => {
    const r = decode(`${HEAD}steps:
  - env:
      A: 1.10
      B: yes
      C: 0x1F
      D: ~
      E:
      F: "quoted"
    build: [true, 1e3]
finalize: [{from: /x, to: /}]
`);
    expect(r.diagnostics).toEqual([]);
    expect(r.value?.steps[0]?.env).toEqual({ A: "1.10", B: "yes", C: "0x1F", D: "", E: "", F: "quoted" });
    expect(r.value?.steps[0]?.build).toEqual(["true", "1e3"]);
  });

  test("an absent or empty shell is /bin/sh (Shell.Get); a set one is kept", () => {
    expect(decode(HEAD).value?.shell).toBe("/bin/sh");
    expect(decode(`${HEAD}shell: ""\n`).value?.shell).toBe("/bin/sh");
    expect(decode(`${HEAD}shell: /bin/bash\n`).value?.shell).toBe("/bin/bash");
  });

  test("dependency from/to are optional as written: absent is undefined, null is empty, / is /", () => {
    const r = decode(`${HEAD}dependencies:
  - stage: a
  - stage: b
    to: /
  - stage: c
    to:
    from: ~
`);
    expect(r.diagnostics).toEqual([]);
    const deps = r.value!.dependencies;
    expect(deps[0]).toEqual({ stage: "a", runtime: false });
    expect("to" in deps[0]!).toBe(false);
    expect(deps[1]).toEqual({ stage: "b", to: "/", runtime: false });
    expect(deps[2]).toEqual({ stage: "c", to: "", from: "", runtime: false });
  });

  test("an omitted finalize from stays undefined (it is the working dir to bldr, not /)", () => {
    const r = decode(`${HEAD}finalize:\n  - to: /usr\n`);
    expect(r.value?.finalize).toEqual([{ to: "/usr" }]);
  });

  test("null lists and mappings are empty; a null list item is an empty string", () => {
    const r = decode(
      `${HEAD}install:\ndependencies: ~\nsteps:\n  - env: ~\n    build: [make, ~]\nfinalize: [{}]\n`,
    );
    expect(r.diagnostics).toEqual([]);
    expect(r.value?.install).toEqual([]);
    expect(r.value?.dependencies).toEqual([]);
    expect(r.value?.steps[0]?.env).toEqual({});
    expect(r.value?.steps[0]?.build).toEqual(["make", ""]);
  });
});

describe("decodePkg: booleans take yaml.v3's forms", () => {
  test.each([
    ["true", true],
    ["True", true],
    ["TRUE", true],
    ["yes", true],
    ["Y", true],
    ["on", true],
    ["ON", true],
    ["false", false],
    ["FALSE", false],
    ["no", false],
    ["n", false],
    ["Off", false],
    ["'yes'", true],
    ["~", false],
  ])("runtime: %s", (written, expected) => {
    const r = decode(`${HEAD}dependencies:\n  - stage: a\n    runtime: ${written}\n`);
    expect(r.diagnostics).toEqual([]);
    expect(r.value?.dependencies[0]?.runtime).toBe(expected);
  });

  test("a quoted true is a string to Go and cannot go into a bool", () => {
    expect(briefs(`${HEAD}dependencies:\n  - stage: a\n    runtime: "true"\n`)).toEqual([
      {
        code: "SCHEMA_INVALID_TYPE",
        severity: "error",
        message: "cannot unmarshal !!str `true` into bool",
        line: 5,
        column: 14,
      },
    ]);
  });

  test("other scalars are refused with the tag Go resolved them to", () => {
    expect(
      briefs(`${HEAD}dependencies:\n  - stage: a\n    runtime: maybe\n  - stage: b\n    runtime: 1\n`),
    ).toEqual([
      {
        code: "SCHEMA_INVALID_TYPE",
        severity: "error",
        message: "cannot unmarshal !!str `maybe` into bool",
        line: 5,
        column: 14,
      },
      {
        code: "SCHEMA_INVALID_TYPE",
        severity: "error",
        message: "cannot unmarshal !!int `1` into bool",
        line: 7,
        column: 14,
      },
    ]);
  });
});

describe("decodePkg: YAML kinds", () => {
  test("a sequence where a string is expected is a decode error", () => {
    expect(briefs(`name: [a, b]\nvariant: alpine\n`)).toEqual([
      {
        code: "SCHEMA_INVALID_TYPE",
        severity: "error",
        message: "cannot unmarshal !!seq into string",
        line: 1,
        column: 7,
      },
    ]);
  });

  test("a mapping as an env value is a decode error", () => {
    expect(briefs(`${HEAD}steps:\n  - env:\n      A: {b: c}\nfinalize: [{}]\n`)).toEqual([
      {
        code: "SCHEMA_INVALID_TYPE",
        severity: "error",
        message: "cannot unmarshal !!map into string",
        line: 5,
        column: 10,
      },
    ]);
  });

  test("a scalar where a list is expected is a decode error", () => {
    expect(briefs(`${HEAD}install: bash\n`)).toEqual([
      {
        code: "SCHEMA_INVALID_TYPE",
        severity: "error",
        message: "cannot unmarshal !!str `bash` into []string",
        line: 3,
        column: 10,
      },
    ]);
  });

  test("a script phase written as a string (v1alpha1) is an error whose hint says phases are lists", () => {
    const r = decode(`${HEAD}steps:\n  - build: make -j8 install-everything\nfinalize: [{}]\n`);
    expect(r.value).toBeUndefined();
    expect(r.diagnostics.map(brief)).toEqual([
      {
        code: "SCHEMA_INVALID_TYPE",
        severity: "error",
        message: "cannot unmarshal !!str `make -j...` into v1alpha2.Instructions",
        line: 4,
        column: 12,
      },
    ]);
    expect(r.diagnostics[0]!.hint).toMatch(/lists since bldr v1alpha2.*v1alpha1/);
  });

  test("a document that is not a mapping", () => {
    expect(briefs(`- name: foo\n`)).toEqual([
      {
        code: "SCHEMA_INVALID_TYPE",
        severity: "error",
        message: "cannot unmarshal !!seq into v1alpha2.Pkg",
        line: 1,
        column: 1,
      },
    ]);
  });
});

describe("decodePkg: enums", () => {
  test("variant is required", () => {
    const missing = {
      code: "SCHEMA_REQUIRED",
      severity: "error",
      message: "variant should be set",
      line: 1,
      column: 1,
    };
    expect(briefs("name: foo\n")).toEqual([missing]);
    expect(briefs("name: foo\nvariant: ~\n")).toEqual([{ ...missing, line: 2, column: 10 }]);
  });

  test("an unknown variant", () => {
    expect(briefs("name: foo\nvariant: debian\n")).toEqual([
      {
        code: "SCHEMA_INVALID_VALUE",
        severity: "error",
        message: 'unknown variant "debian"',
        line: 2,
        column: 10,
      },
    ]);
  });

  test("network defaults to none; unknown modes are refused", () => {
    const ok = decode(`${HEAD}steps:\n  - network: host\n  - {}\nfinalize: [{}]\n`);
    expect(ok.value?.steps.map((s) => s.network)).toEqual(["host", "none"]);
    expect(briefs(`${HEAD}steps:\n  - network: bridge\nfinalize: [{}]\n`)).toEqual([
      {
        code: "SCHEMA_INVALID_VALUE",
        severity: "error",
        message: 'unknown networkmode "bridge"',
        line: 4,
        column: 14,
      },
    ]);
    expect(briefs(`${HEAD}steps:\n  - network: ""\nfinalize: [{}]\n`)[0]?.message).toBe(
      'unknown networkmode ""',
    );
  });

  test("buildPlatform: linux/amd64 and linux/arm64 only", () => {
    expect(decode(`${HEAD}buildPlatform: linux/amd64\n`).value?.buildPlatform).toBe("linux/amd64");
    expect(briefs(`${HEAD}buildPlatform: linux/riscv64\n`)).toEqual([
      {
        code: "SCHEMA_INVALID_VALUE",
        severity: "error",
        message: 'package "foo": buildPlatform "linux/riscv64" is not supported',
        line: 3,
        column: 16,
      },
    ]);
  });

  test("dependency platform: linux/amd64 and linux/arm64 only; empty is unset", () => {
    expect(decode(`${HEAD}dependencies:\n  - image: x\n    platform: ""\n`).value?.dependencies[0]).toEqual({
      image: "x",
      runtime: false,
    });
    expect(briefs(`${HEAD}dependencies:\n  - image: x\n    platform: linux/386\n`)).toEqual([
      {
        code: "SCHEMA_INVALID_VALUE",
        severity: "error",
        message: 'platform "linux/386" not supported',
        line: 5,
        column: 15,
      },
    ]);
  });
});

describe("decodePkg: Pkg.Validate", () => {
  test("package name can't be empty", () => {
    const empty = { code: "SCHEMA_REQUIRED", severity: "error", message: "package name can't be empty" };
    expect(briefs("variant: alpine\n")).toEqual([{ ...empty, line: 1, column: 1 }]);
    expect(briefs('name: ""\nvariant: alpine\n')).toEqual([{ ...empty, line: 1, column: 7 }]);
  });

  test("a dependency needs exactly one of image or stage", () => {
    expect(
      briefs(`${HEAD}dependencies:\n  - image: alpine:3\n    stage: base\n  - to: /x\n  - stage: ok\n`),
    ).toEqual([
      {
        code: "SCHEMA_DEPENDENCY_KIND",
        severity: "error",
        message: `dependency can't have both image & stage set: "alpine:3", "base"`,
        line: 4,
        column: 5,
      },
      {
        code: "SCHEMA_DEPENDENCY_KIND",
        severity: "error",
        message: "either image or stage should be set for the dependency",
        line: 6,
        column: 5,
      },
    ]);
  });

  test("a misspelled `images:` is ignored like bldr does, warned about, and trips the image/stage rule", () => {
    const r = decode(`${HEAD}dependencies:\n  - images: alpine:3\n`);
    expect(r.diagnostics.map(brief)).toEqual([
      {
        code: "SCHEMA_DEPENDENCY_KIND",
        severity: "error",
        message: "either image or stage should be set for the dependency",
        line: 4,
        column: 5,
      },
      {
        code: "SCHEMA_UNKNOWN_KEY",
        severity: "warning",
        message: 'unknown key "images" in dependency is ignored by bldr',
        line: 4,
        column: 5,
      },
    ]);
    expect(r.diagnostics[1]!.hint).toBe('did you mean "image"?');
  });

  test("every empty source field is reported, at the source when the key is missing", () => {
    // Findings are ordered by position; at one position they keep bldr's order.
    expect(briefs(`${HEAD}steps:\n  - sources:\n      - url: ""\nfinalize: [{}]\n`)).toEqual([
      {
        code: "SCHEMA_REQUIRED",
        severity: "error",
        message: "source.destination can't be empty",
        line: 5,
        column: 9,
      },
      {
        code: "SCHEMA_REQUIRED",
        severity: "error",
        message: "source.sha256 can't be empty",
        line: 5,
        column: 9,
      },
      {
        code: "SCHEMA_REQUIRED",
        severity: "error",
        message: "source.sha512 can't be empty",
        line: 5,
        column: 9,
      },
      {
        code: "SCHEMA_REQUIRED",
        severity: "error",
        message: "source.url can't be empty",
        line: 5,
        column: 14,
      },
    ]);
  });

  test("checksum lengths: only the length is checked, not that it is hex", () => {
    const source = (sha256: string, sha512: string) =>
      `${HEAD}steps:\n  - sources:\n      - url: https://x\n        destination: x\n        sha256: ${sha256}\n        sha512: ${sha512}\nfinalize: [{}]\n`;
    expect(decode(source("z".repeat(64), "z".repeat(128))).diagnostics).toEqual([]);
    const r = decode(source("abc", "b".repeat(127)));
    expect(r.diagnostics.map(brief)).toEqual([
      {
        code: "SCHEMA_CHECKSUM_LENGTH",
        severity: "error",
        message: "source.sha256 should be 64 chars long",
        line: 7,
        column: 17,
      },
      {
        code: "SCHEMA_CHECKSUM_LENGTH",
        severity: "error",
        message: "source.sha512 should be 128 chars long",
        line: 8,
        column: 17,
      },
    ]);
    expect(r.diagnostics[0]!.hint).toContain("this one has 3");
  });

  test("a URL Go cannot parse", () => {
    const r = briefs(
      `${HEAD}steps:\n  - sources:\n      - url: "http://x/\\x7f"\n        destination: x\n        sha256: ${SHA256}\n        sha512: ${SHA512}\nfinalize: [{}]\n`,
    );
    expect(r).toEqual([
      {
        code: "SCHEMA_INVALID_VALUE",
        severity: "error",
        message:
          'error parsing source.url "http://x/\\x7f": parse "http://x/\\x7f": net/url: invalid control character in URL',
        line: 5,
        column: 14,
      },
    ]);
  });

  test("steps without finalize would build nothing; no steps and no finalize is fine", () => {
    expect(briefs(`${HEAD}steps:\n  - build: [make]\n`)).toEqual([
      {
        code: "SCHEMA_FINALIZE_MISSING",
        severity: "error",
        message: "finalize steps are missing, this is going to lead to empty build",
        line: 3,
        column: 1,
      },
    ]);
    expect(decode(HEAD).diagnostics).toEqual([]);
  });

  test("all problems of a file are reported together", () => {
    const r = decode(`variant: nope
install: x
dependencies:
  - {}
steps:
  - sources: [{url: u}]
    network: lan
`);
    expect(r.value).toBeUndefined();
    expect(r.diagnostics.map((d) => d.code)).toEqual([
      "SCHEMA_REQUIRED", // name (reported at the document start)
      "SCHEMA_INVALID_VALUE", // variant
      "SCHEMA_INVALID_TYPE", // install
      "SCHEMA_DEPENDENCY_KIND",
      "SCHEMA_FINALIZE_MISSING",
      "SCHEMA_REQUIRED", // destination
      "SCHEMA_REQUIRED", // sha256
      "SCHEMA_REQUIRED", // sha512
      "SCHEMA_INVALID_VALUE", // network
    ]);
  });

  test("an empty document misses name and variant", () => {
    expect(briefs("").map((d) => d.message)).toEqual([
      "package name can't be empty",
      "variant should be set",
    ]);
  });
});

describe("decodePkg: unknown keys", () => {
  test("are accepted like bldr does, with a warning and a suggestion", () => {
    const r = decode(
      `${HEAD}steps:\n  - cachepaths: [/x]\n    build: [make]\nfinalize: [{}]\nversion: 1.0\n`,
    );
    expect(r.value).toBeDefined();
    expect(r.diagnostics.map(brief)).toEqual([
      {
        code: "SCHEMA_UNKNOWN_KEY",
        severity: "warning",
        message: 'unknown key "cachepaths" in step is ignored by bldr',
        line: 4,
        column: 5,
      },
      {
        code: "SCHEMA_UNKNOWN_KEY",
        severity: "warning",
        message: 'unknown key "version" in pkg.yaml is ignored by bldr',
        line: 7,
        column: 1,
      },
    ]);
    expect(r.diagnostics[0]!.hint).toBe('did you mean "cachePaths"?');
    expect(r.value?.steps[0]?.cachePaths).toEqual([]);
  });

  test("a key with nothing close gets the list of known keys as its hint", () => {
    const r = decode(`${HEAD}tmpfs: [/tmp]\n`);
    expect(r.diagnostics[0]?.hint).toBe(
      "known keys here: name, variant, shell, install, dependencies, steps, finalize, buildPlatform",
    );
  });
});
