import type { Diagnostic } from "../errors.ts";
import type { Pkg, Pkgfile, Platform } from "../schema/index.ts";
import type { DecodedYaml } from "../yaml/decode.ts";

/**
 * `frontend`: what a real `docker buildx build -f Pkgfile` sees (dot-dirs kept, root `_out/`
 * excluded, per-directory passes). `cli`: what `bldr graph|dump|eval|validate` see.
 */
export type LoadMode = "frontend" | "cli";

/** Options of {@link loadTree}. */
export interface LoadTreeOptions {
  /** Directory holding `Pkgfile`. */
  root: string;
  /** Target platform; also the build platform, as in a normal build. Default `linux/amd64`. */
  platform?: Platform;
  /** `--build-arg NAME=VALUE` pairs; each becomes the template variable `BUILD_ARG_NAME`. */
  buildArgs?: Record<string, string>;
  /** Default `"frontend"`: what real builds see. */
  mode?: LoadMode;
}

/** A rendered `*.tmpl` file, as bldr writes it into `/pkg`. */
export interface TemplatedFile {
  /** The `.tmpl` file, relative to the tree root (posix). */
  source: string;
  /** Where it lands, relative to the package directory, without `.tmpl`. */
  path: string;
  /** The rendered text. */
  content: string;
}

/** One package of a loaded tree: its pkg.yaml rendered, decoded and validated. */
export interface LoadedPackage {
  /** The package's `name` (its id for `stage:` dependencies and `--target`). */
  name: string;
  /** Package directory relative to the root (posix); `""` for the root itself. */
  dir: string;
  /** The pkg.yaml, relative to the root (posix). */
  file: string;
  /** The decoded, validated pkg.yaml. */
  pkg: Pkg;
  /** The merged variables this package (and its templated files) were rendered with. */
  context: Record<string, string>;
  /** The package's rendered `*.tmpl` files, as bldr writes them into `/pkg`. */
  templatedFiles: TemplatedFile[];
  /** The decoded rendered YAML; its positions point into the source pkg.yaml. */
  doc: DecodedYaml;
  /** The pkg.yaml text after template rendering. */
  rendered: string;
}

/** A bldr tree after loading: the Pkgfile, every package, and what loading found wrong. */
export interface LoadedTree {
  /** Absolute root directory. */
  root: string;
  /** The platform the tree was loaded for. */
  platform: Platform;
  /** The decoded Pkgfile; absent when it is missing or does not decode. */
  pkgfile?: Pkgfile;
  /** By name, in load order; a duplicate name keeps the first package loaded. */
  packages: Map<string, LoadedPackage>;
  /** Findings of loading (templates, YAML, schemas, duplicate names), errors and warnings. */
  diagnostics: Diagnostic[];
  /** Every file found (relative posix paths, in load order), whether it loaded or not. */
  files: {
    /** The Pkgfile, when there is one. */
    pkgfile?: string;
    /** Every `vars.yaml`. */
    vars: string[];
    /** Every `pkg.yaml`. */
    pkgs: string[];
    /** Every `*.tmpl` file. */
    templates: string[];
  };
}
