/**
 * The one template for a new Talos system extension, shared by `talos-ext new` and the Nx generator
 * `@talos-ext/nx:extension`: pure (returns files, writes nothing), so each caller writes them its
 * own way (the CLI to disk, the generator into Nx's virtual tree). The result lints clean and
 * builds as it is; `talos-ext update VERSION` fills the checksums of a source.
 */
import { posix } from "node:path";
import { TalosExtError } from "../errors.ts";

/** Where the build environment of the steps comes from: a stage of the tree, or an image. */
export type ScaffoldBuilder =
  | {
      /** A stage of the tree (e.g. `base`) the steps run on. */
      stage: string;
    }
  | {
      /** An image reference the steps run in. */
      image: string;
    };

/** Options of {@link scaffoldExtension}. */
export interface ExtensionScaffoldOptions {
  /** Package, manifest and (with `service`) service name: lowercase letters, digits and dashes. */
  name: string;
  /** Written to `vars.yaml` as `VERSION`; default `0.1.0` (with a source: its upstream version). */
  version?: string;
  /** Upstream source archive; a literal `version` in it becomes `{{ .VERSION }}` so `update VERSION` works. */
  sourceUrl?: string;
  /** Ship an extension service `ext-<name>`: a service spec and a small static C daemon built from `src/`. */
  service?: boolean;
  /** No build steps: files under `files/` are placed as they are; assembled without any build engine. */
  noBuild?: boolean;
  /** Build environment (shell, `cc`) for the steps; default `{ stage: "base" }`, the tree's build root. */
  builder?: ScaffoldBuilder;
  /** One line for the manifest; default a placeholder that names the package. */
  description?: string;
}

/** One file of a scaffold, relative to the new package's directory (posix). */
export interface ScaffoldedFile {
  /** Path relative to the new package's directory (posix). */
  path: string;
  /** The file's text. */
  content: string;
  /** Octal file mode; default 0o644. */
  mode?: number;
}

/** What `scaffoldExtension` produced. */
export interface ExtensionScaffold {
  /** The package name (as validated). */
  name: string;
  /** The files to write, paths relative to the new package's directory. */
  files: ScaffoldedFile[];
  /** The variable to pass to `talos-ext update` so it fills the placeholder checksums; absent without a source. */
  updateVariable?: string;
}

const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** Hex placeholders of the right lengths: they lint clean and `update` replaces them as text. */
const SHA256_PLACEHOLDER = "0".repeat(64);
const SHA512_PLACEHOLDER = "0".repeat(128);

/** Throws `SCAFFOLD_BAD_NAME` unless `name` can be a package, manifest and service name. */
export function assertExtensionName(name: string): string {
  if (NAME.test(name)) return name;
  throw new TalosExtError({
    code: "SCAFFOLD_BAD_NAME",
    message: `"${name}" is not a valid extension name`,
    hint: "use lowercase letters, digits and dashes (at most 63, starting and ending with a letter or digit), e.g. my-extension",
  });
}

/** YAML double-quoted scalar (JSON strings are valid YAML). */
const q = (s: string) => JSON.stringify(s);

function builderLine(b: ScaffoldBuilder): string {
  return "stage" in b ? `  - stage: ${b.stage}` : `  - image: ${q(b.image)}`;
}

const ARCHIVE = /\.(tar\.gz|tar\.xz|tar\.bz2|tar\.zst|tgz|tar|zip)$/;

/** `https://x/foo-1.2.3.tar.gz` -> `<name>.tar.gz`: a name that stays right after a version bump. */
function destinationOf(url: string, name: string): string {
  let base: string;
  try {
    base = posix.basename(new URL(url).pathname);
  } catch {
    throw new TalosExtError({
      code: "SCAFFOLD_BAD_SOURCE_URL",
      message: `source URL "${url}" is not a valid URL`,
      hint: "pass the full http(s) URL of the upstream archive, e.g. https://example.org/foo-1.0.tar.gz",
    });
  }
  const archive = ARCHIVE.exec(base);
  return archive ? `${name}.${archive[1]}` : `${name}-source`;
}

function checkOptions(o: ExtensionScaffoldOptions): void {
  if (o.noBuild && o.service) {
    throw new TalosExtError({
      code: "SCAFFOLD_OPTIONS_CONFLICT",
      message: "a service needs a built binary, so --service does not go with --no-build",
      hint: "drop --no-build (the service is compiled from src/) or drop --service",
    });
  }
  if (o.noBuild && o.sourceUrl) {
    throw new TalosExtError({
      code: "SCAFFOLD_OPTIONS_CONFLICT",
      message: "a source is fetched by a build step, so --source does not go with --no-build",
      hint: "drop --no-build or drop --source",
    });
  }
  if (o.sourceUrl && templatedUrl(o.sourceUrl, o.version ?? "0.1.0") === o.sourceUrl) {
    throw new TalosExtError({
      code: "SCAFFOLD_SOURCE_NO_VERSION",
      message: `source URL "${o.sourceUrl}" does not contain the version "${o.version ?? "0.1.0"}"`,
      hint: "pass the version the URL carries (--package-version / --packageVersion): it becomes {{ .VERSION }}, so `talos-ext update VERSION` follows a bump",
    });
  }
  if (o.sourceUrl && !/^https?:\/\//.test(o.sourceUrl)) {
    throw new TalosExtError({
      code: "SCAFFOLD_BAD_SOURCE_URL",
      message: `source URL "${o.sourceUrl}" is not an http(s) URL`,
      hint: "bldr fetches sources over http(s); pass e.g. https://example.org/foo-1.0.tar.gz",
    });
  }
}

/** Returns the files of a new extension package; throws `SCAFFOLD_*` errors for unusable options. */
export function scaffoldExtension(options: ExtensionScaffoldOptions): ExtensionScaffold {
  const name = assertExtensionName(options.name);
  checkOptions(options);
  const version = options.version ?? "0.1.0";
  const description = options.description ?? `${name}: describe what this extension adds to Talos.`;
  const files: ScaffoldedFile[] = [];
  const pkg = options.noBuild ? noBuildPkg(name) : builtPkg(name, version, options);
  files.push({ path: "pkg.yaml", content: pkg });
  files.push({ path: "vars.yaml", content: varsYaml(version, options.sourceUrl !== undefined) });
  files.push({ path: "manifest.yaml.tmpl", content: manifestTmpl(name, description) });
  if (options.noBuild) {
    files.push({
      path: `files/${name}.conf`,
      content: `# ${name}: placed at /usr/local/share/${name}/${name}.conf on the node. Replace with real content.\n`,
    });
  }
  if (options.service) {
    files.push({ path: `${name}.yaml`, content: serviceYaml(name) });
    files.push({ path: `src/${name}.c`, content: daemonC(name) });
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const out: ExtensionScaffold = { name, files };
  if (options.sourceUrl) out.updateVariable = "VERSION";
  return out;
}

function noBuildPkg(name: string): string {
  return `# ${name}: files only. No build steps and no dependencies, so it is assembled without any
# build engine: /pkg holds this directory, finalize places files/ and the manifest.
name: ${name}
variant: scratch
finalize:
  - from: /pkg/files
    to: /rootfs/usr/local/share/${name}
  - from: /pkg/manifest.yaml
    to: /
`;
}

function builtPkg(name: string, version: string, o: ExtensionScaffoldOptions): string {
  const builder = o.builder ?? { stage: "base" };
  const lines: string[] = [
    `# ${name}: scaffolded by talos-ext; it lints clean and builds as it is. Replace the`,
    "# placeholder steps with the real build; everything under /rootfs ends up on the node.",
    `name: ${name}`,
    "variant: scratch",
    // bldr runs every script with `set -o pipefail`, which POSIX sh (dash) lacks.
    "shell: /bin/bash",
    "dependencies:",
    "  # the build environment (shell, cc); only used to build, nothing of it reaches the image",
    builderLine(builder),
    "steps:",
  ];
  let first = "  - ";
  const item = (key: string) => {
    lines.push(`${first}${key}`);
    first = "    ";
  };
  if (o.sourceUrl) {
    const dest = destinationOf(o.sourceUrl, name);
    const url = templatedUrl(o.sourceUrl, version);
    item("sources:");
    lines.push(
      `      - url: ${q(url)}`,
      `        destination: ${dest}`,
      '        sha256: "{{ .SHA256 }}"',
      '        sha512: "{{ .SHA512 }}"',
    );
    if (/\.(tar\.gz|tar\.xz|tar\.bz2|tar\.zst|tgz|tar)$/.test(dest)) {
      item("prepare:");
      lines.push("      - |", `        tar -xf ${dest} --strip-components=1`);
    }
  }
  item("build:");
  lines.push("      - |", "        mkdir -p /tmp/build");
  lines.push(`        printf '%s\\n' "${name} {{ .VERSION }}" > /tmp/build/VERSION`);
  if (o.service) {
    lines.push(
      "        # static, so the service's container rootfs needs no C library from the node",
      `        cc -O2 -static -Wall -DVERSION='"{{ .VERSION }}"' -o /tmp/build/${name} /pkg/src/${name}.c`,
    );
  }
  item("install:");
  lines.push(
    "      - |",
    `        install -D -m 0644 /tmp/build/VERSION /rootfs/usr/local/share/${name}/VERSION`,
  );
  if (o.service) {
    lines.push(
      "        # the container rootfs is the binary alone, in the directory named like the service",
      `        install -D -m 0755 /tmp/build/${name} /rootfs/usr/local/lib/containers/${name}/${name}`,
      `        install -D -m 0644 /pkg/${name}.yaml /rootfs/usr/local/etc/containers/${name}.yaml`,
    );
  }
  item("test:");
  lines.push("      - |", `        test -f /rootfs/usr/local/share/${name}/VERSION`);
  if (o.service) lines.push(`        /tmp/build/${name} --version | grep -q "${name} {{ .VERSION }}"`);
  lines.push(
    "finalize:",
    "  - from: /rootfs",
    "    to: /rootfs",
    "  - from: /pkg/manifest.yaml",
    "    to: /",
  );
  return `${lines.join("\n")}\n`;
}

/** Replaces the version where it stands alone (not inside a longer number): `v1.2.3`, `foo-1.2.3.tar.gz`. */
function templatedUrl(url: string, version: string): string {
  const escaped = version.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return url.replace(new RegExp(`(?<![0-9.])${escaped}(?![0-9])`, "g"), "{{ .VERSION }}");
}

function varsYaml(version: string, withSource: boolean): string {
  const lines = [`VERSION: ${q(version)}`];
  if (withSource) {
    lines.push(
      "# Written by `talos-ext update VERSION` (run it again after bumping VERSION).",
      `SHA256: ${SHA256_PLACEHOLDER}`,
      `SHA512: ${SHA512_PLACEHOLDER}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

function manifestTmpl(name: string, description: string): string {
  // Template variables the tree may lack are avoided: only VERSION (ours) is used.
  return `version: v1alpha1
metadata:
  name: ${name}
  version: "{{ .VERSION }}"
  author: ${q("Extension authors")}
  description: |
    ${description}
  compatibility:
    talos:
      version: ">= v1.10.0"
`;
}

function serviceYaml(name: string): string {
  return `name: ${name}
container:
  entrypoint: /${name}
  security:
    writeableRootfs: false
depends:
  - network:
      - addresses
restart: always
`;
}

function daemonC(name: string): string {
  return `/* ${name}: a placeholder daemon; logs once a minute until SIGTERM. Replace with the real service. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef VERSION
#define VERSION "dev"
#endif

static volatile sig_atomic_t stopping = 0;

static void on_signal(int sig) {
  (void)sig;
  stopping = 1;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--version") == 0) {
    printf("${name} %s\\n", VERSION);
    return 0;
  }
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("${name} %s started\\n", VERSION);
  while (!stopping) {
    for (int s = 0; s < 60 && !stopping; s++) sleep(1);
    if (!stopping) printf("${name} alive\\n");
  }
  return 0;
}
`;
}
