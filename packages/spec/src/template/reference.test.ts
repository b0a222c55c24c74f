// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Go replacement templates such as "${1}" are the subject of these tests
/**
 * The constructs the siderolabs/extensions tree uses (bldr-format.md §4, §10.3, §11, Gotchas 1,
 * 2 and 19), rendered for both architectures.
 */
import { describe, expect, it } from "vitest";
import { render } from "../../test/template-helpers.ts";

const amd64 = { ARCH: "x86_64", TARGET: "x86_64-talos-linux-musl" };
const arm64 = { ARCH: "aarch64", TARGET: "aarch64-talos-linux-musl" };

describe("expressions of the extensions tree", () => {
  it("replace in a pipeline", () => {
    expect(render('{{ .LIBTIRPC_VERSION | replace "-" "." }}', { LIBTIRPC_VERSION: "1-3-6" })).toBe("1.3.6");
    expect(render('{{ .NFS_UTILS_VERSION  | replace "-" "." }}', { NFS_UTILS_VERSION: "2-8-2" })).toBe(
      "2.8.2",
    );
  });

  it("substr of a commit ref", () => {
    expect(
      render("{{ substr 0 7 .CONTAINER_TOOLKIT_REF }}", { CONTAINER_TOOLKIT_REF: "a4ba1d4a1a2e4cb6" }),
    ).toBe("a4ba1d4");
  });

  it("regexReplaceAll with ${1} and no group drops the last component", () => {
    const tpl = '{{ regexReplaceAll ".\\\\d+$" .GLIB_VERSION "${1}" }}';
    expect(render(tpl, { GLIB_VERSION: "2.84.1" })).toBe("2.84");
    expect(render(tpl, { GLIB_VERSION: "2.84.10" })).toBe("2.84");
    const utilLinux = '{{ regexReplaceAll "\\\\.0$" .UTIL_LINUX_VERSION "${1}" }}';
    expect(render(utilLinux, { UTIL_LINUX_VERSION: "2.41.0" })).toBe("2.41");
    expect(render(utilLinux, { UTIL_LINUX_VERSION: "2.41.2" })).toBe("2.41.2");
  });

  it("arch switch inside a quoted env value", () => {
    const tpl = `ARCH: '{{ if eq .ARCH "aarch64"}}arm64{{ else if eq .ARCH "x86_64" }}x86_64{{ else }}unsupported{{ end }}'`;
    expect(render(tpl, arm64)).toBe("ARCH: 'arm64'");
    expect(render(tpl, amd64)).toBe("ARCH: 'x86_64'");
    expect(render(tpl, { ARCH: "riscv64" })).toBe("ARCH: 'unsupported'");
  });

  it("directives inside YAML comments select list items", () => {
    const tpl = [
      "sources:",
      '  # {{ if eq .ARCH "aarch64" }}',
      "  - url: https://example.com/arm64.tar.gz",
      "  # {{ else }}",
      "  - url: https://example.com/amd64.tar.gz",
      "  # {{ end }}",
      "  - url: https://example.com/common.tar.gz",
      "",
    ].join("\n");
    expect(render(tpl, arm64)).toBe(
      "sources:\n  # \n  - url: https://example.com/arm64.tar.gz\n  # \n  - url: https://example.com/common.tar.gz\n",
    );
    expect(render(tpl, amd64)).toBe(
      "sources:\n  # \n  - url: https://example.com/amd64.tar.gz\n  # \n  - url: https://example.com/common.tar.gz\n",
    );
  });

  it("a bare top-level if around dependencies (hack/test)", () => {
    const tpl = [
      "name: test",
      '{{ if ne .BUILD_ARG_TEST_STAGE "" }}',
      "dependencies:",
      "  - stage: {{ .BUILD_ARG_TEST_STAGE }}",
      "{{ end }}",
      "finalize: []",
      "",
    ].join("\n");
    expect(render(tpl, { BUILD_ARG_TEST_STAGE: "" })).toBe("name: test\n\nfinalize: []\n");
    expect(render(tpl, { BUILD_ARG_TEST_STAGE: "zfs" })).toBe(
      "name: test\n\ndependencies:\n  - stage: zfs\n\nfinalize: []\n",
    );
    // bldr validate passes no build args: the key is missing, `ne <missing> ""` is true.
    expect(render(tpl, {})).toBe("name: test\n\ndependencies:\n  - stage: <no value>\n\nfinalize: []\n");
  });

  it("grype-scan compares a never-passed build arg against '<no value>'", () => {
    const tpl = `if [ "\${GRYPE_EXTRA_ARGS}" != '<no value>' ]; then echo set; fi # {{ .BUILD_ARG_GRYPE_EXTRA_ARGS }}`;
    expect(render(tpl, {})).toBe(
      `if [ "\${GRYPE_EXTRA_ARGS}" != '<no value>' ]; then echo set; fi # <no value>`,
    );
  });

  it("plain variables in scripts and checksums keep the surrounding shell text", () => {
    const tpl = [
      "steps:",
      "  - sources:",
      "      - url: https://example.com/foo-{{ .VERSION }}.tar.xz",
      "        sha256: {{ .FOO_SHA256 }}",
      "    build:",
      "      - |",
      '        export PATH="${PATH}:/x" # $TARGET stays, {{ .TARGET }} renders',
      "        make -j $(nproc) CC={{ .TARGET }}-gcc",
      "",
    ].join("\n");
    expect(render(tpl, { ...amd64, VERSION: "1.2", FOO_SHA256: "abc" })).toBe(
      [
        "steps:",
        "  - sources:",
        "      - url: https://example.com/foo-1.2.tar.xz",
        "        sha256: abc",
        "    build:",
        "      - |",
        '        export PATH="${PATH}:/x" # $TARGET stays, x86_64-talos-linux-musl renders',
        "        make -j $(nproc) CC=x86_64-talos-linux-musl-gcc",
        "",
      ].join("\n"),
    );
  });

  it("a literal {{ can be produced with a string action", () => {
    expect(render('echo "{{ "{{" }} x }}"', {})).toBe('echo "{{ x }}"');
  });

  it("a manifest.yaml.tmpl", () => {
    const tpl = "version: v1alpha1\nmetadata:\n  name: zfs\n  version: {{ .VERSION }}\n  tier: {{ .TIER }}\n";
    expect(render(tpl, { VERSION: "2.3.4-v1.11.0", TIER: "extra" })).toBe(
      "version: v1alpha1\nmetadata:\n  name: zfs\n  version: 2.3.4-v1.11.0\n  tier: extra\n",
    );
  });
});
