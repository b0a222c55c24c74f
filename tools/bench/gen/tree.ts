/**
 * Generates a bldr tree shaped like siderolabs/extensions, scaled up: a Pkgfile, a root
 * vars.yaml, one vars.yaml per group directory, and per package a templated pkg.yaml (vars,
 * an ARCH-conditional block, a source with checksums, stage dependencies forming a DAG) and a
 * manifest.yaml.tmpl. The same seed gives the same tree.
 */
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { prng } from "../lib.ts";

export interface GeneratedTree {
  root: string;
  packages: number;
  /** Every file written, relative to the root: what a bare YAML parse reads. */
  files: string[];
  bytes: number;
}

const PER_GROUP = 25;

const PKGFILE = `# syntax = ghcr.io/siderolabs/bldr:v0.6.3
format: v1alpha2

vars:
  TALOS_MIN_VERSION: v1.10.0
  EXTENSIONS_AUTHOR: Talos Extension Playground Bench

labels:
  org.opencontainers.image.source: https://example.invalid/bench
  org.opencontainers.image.vendor: Talos Extension Playground
  org.opencontainers.image.licenses: MPL-2.0
`;

const ROOT_VARS = `# Release pins, overridable with build args (the pattern of the real tree).
TALOS_VERSION: '{{ .BUILD_ARG_TALOS_VERSION | default "v1.13.9" }}'
TOOLS: '{{ .BUILD_ARG_TOOLS | default "v1.13.0-9-ga201d19" }}'
TOOLS_PREFIX: '{{ .BUILD_ARG_TOOLS_PREFIX | default "ghcr.io/siderolabs" }}'
DOWNLOADS: https://downloads.example.org
`;

const BASE_PKG = `# The shared build root: the tools image of the pinned release.
name: base
variant: scratch
dependencies:
  - image: "{{ .TOOLS_PREFIX }}/tools:{{ .TOOLS }}"
finalize:
  - from: /
    to: /
`;

function hex(text: string, algo: "sha256" | "sha512"): string {
  return createHash(algo).update(text).digest("hex");
}

function key(i: number): string {
  return `P${String(i).padStart(4, "0")}`;
}

function pkgName(i: number): string {
  return `bench-${String(i).padStart(4, "0")}`;
}

function pkgYaml(i: number, deps: number[]): string {
  const name = pkgName(i);
  const k = key(i);
  const stageLines = ["  - stage: base", ...deps.map((d) => `  - stage: ${pkgName(d)}`)].join("\n");
  return `# ${name}: generated benchmark package ${i}.
name: ${name}
variant: scratch
shell: /bin/bash
dependencies:
${stageLines}
steps:
  - sources:
      - url: "{{ .DOWNLOADS }}/${name}/${name}-{{ .${k}_VERSION }}.tar.xz"
        destination: ${name}.tar.xz
        sha256: "{{ .${k}_SHA256 }}"
        sha512: "{{ .${k}_SHA512 }}"
    env:
      SOURCE_DATE_EPOCH: "0"
    prepare:
      - |
        tar -xJf ${name}.tar.xz --strip-components=1
        # {{ if eq .ARCH "aarch64" }}
        export EXTRA_CFLAGS="-mbranch-protection=standard"
        # {{ else }}
        export EXTRA_CFLAGS="-fcf-protection=full"
        # {{ end }}
        ./configure --prefix=/usr/local --host={{ .TARGET }} CFLAGS="{{ .CFLAGS }} \${EXTRA_CFLAGS}"
    build:
      - |
        make -j "$(nproc)" VERSION="{{ .${k}_VERSION }}"
    install:
      - |
        make install DESTDIR=/rootfs
    test:
      - |
        test -x /rootfs/usr/local/bin/${name}
finalize:
  - from: /rootfs
    to: /rootfs
  - from: /pkg/manifest.yaml
    to: /
`;
}

function manifestTmpl(i: number): string {
  return `version: v1alpha1
metadata:
  name: ${pkgName(i)}
  version: "{{ .${key(i)}_VERSION }}"
  author: "{{ .EXTENSIONS_AUTHOR }}"
  description: |
    [{{ .TIER }}] Generated benchmark extension ${i} for Talos {{ .TALOS_VERSION }}.
  compatibility:
    talos:
      version: ">= {{ .TALOS_MIN_VERSION }}"
`;
}

/** Writes a tree of `count` packages (one of them `base`) under `root`. */
export async function generateTree(root: string, count: number, seed = 500): Promise<GeneratedTree> {
  const rand = prng(seed);
  const files = new Map<string, string>();
  files.set("Pkgfile", PKGFILE);
  files.set("vars.yaml", ROOT_VARS);
  files.set("internal/base/pkg.yaml", BASE_PKG);
  const groups = Math.ceil((count - 1) / PER_GROUP);
  for (let g = 0; g < groups; g++) {
    const dir = `group-${String(g).padStart(2, "0")}`;
    const vars = [`# group ${g}`, `TIER: 'group-${g}-{{ .TALOS_MIN_VERSION }}'`];
    for (let i = 1 + g * PER_GROUP; i <= Math.min(count - 1, (g + 1) * PER_GROUP); i++) {
      const k = key(i);
      const version = `${1 + (i % 7)}.${i % 13}.${i % 5}`;
      vars.push(
        `# renovate: datasource=github-releases depName=example/${pkgName(i)}`,
        `${k}_VERSION: ${version}`,
        `${k}_SHA256: ${hex(`${i}-${version}`, "sha256")}`,
        `${k}_SHA512: ${hex(`${i}-${version}`, "sha512")}`,
      );
      // Stage dependencies on up to three earlier packages: a DAG with shared subgraphs.
      const deps = new Set<number>();
      const want = i === 1 ? 0 : Math.floor(rand() * 4);
      for (let d = 0; d < want; d++) deps.add(1 + Math.floor(rand() * (i - 1)));
      files.set(
        `${dir}/${pkgName(i)}/pkg.yaml`,
        pkgYaml(
          i,
          [...deps].sort((a, b) => a - b),
        ),
      );
      files.set(`${dir}/${pkgName(i)}/manifest.yaml.tmpl`, manifestTmpl(i));
    }
    files.set(`${dir}/vars.yaml`, `${vars.join("\n")}\n`);
  }
  let bytes = 0;
  for (const [rel, content] of files) {
    const abs = join(root, rel);
    await mkdir(join(abs, ".."), { recursive: true });
    await writeFile(abs, content);
    bytes += Buffer.byteLength(content);
  }
  return { root, packages: count, files: [...files.keys()], bytes };
}
