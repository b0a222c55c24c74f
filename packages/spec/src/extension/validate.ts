/**
 * Validates one extension image the way Talos (imager load + `Validate`) and the official
 * extensions-validator do, with Talos's error texts, then adds our lints. Unlike Talos, which stops
 * at the first failure, every finding is reported.
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { type Diagnostic, diagnostic, hasErrors, TalosExtError } from "../errors.ts";
import { looksLikeOciLayout } from "../oci/layout.ts";
import {
  decodeManifest,
  decodeServiceSpec,
  type ExtensionManifest,
  type ServiceSpec,
} from "../schema/index.ts";
import { type DecodedYaml, decodeYamlBytes } from "../yaml/decode.ts";
import { satisfiesConstraint } from "./constraint.ts";
import { readOciArchive, readOciLayout } from "./oci.ts";
import { MAX_EXTENSION_DOCUMENT, readExtensionDir, readExtensionTar } from "./read.ts";
import {
  allowedPathPrefixes,
  atLeast,
  CONTAINER_ROOT_DIR,
  isPathAllowed,
  isPathAllowedOnBoundary,
  KERNEL_MODULE_FILE,
  kernelModulesRoot,
  matchVersionFormat,
  SERVICE_SPEC_DIR,
} from "./rules.ts";
import { goQuote, parseTalosVersion, type TalosVersionInfo } from "./semver.ts";
import { lintServiceSpec } from "./service-lint.ts";
import { type ExtensionTree, entryLocation, TreeIndex } from "./tree.ts";

/** The Talos release validation targets when none is given (path allow-list and constraint check). */
export const DEFAULT_TALOS_VERSION = "v1.14.0";

/** Options of {@link validateExtension} and {@link validateExtensionTree}. */
export interface ValidateExtensionOptions {
  /** Target Talos release (default `v1.14.0`): picks the path allow-list and evaluates the constraint. */
  talosVersion?: string;
  /** extensions-validator `--pkg-name`: the manifest's `metadata.name` must equal it. */
  pkgName?: string;
  /** The Talos kernel release (e.g. `6.18.45-talos`); when given, modules must sit under exactly that directory. */
  kernelRelease?: string;
}

/** What validating one extension image found. */
export interface ExtensionReport {
  /** No error diagnostics. */
  ok: boolean;
  /** The decoded manifest, when it could be read and decoded. */
  manifest?: ExtensionManifest;
  /** Every service spec found under `rootfs/usr/local/etc/containers/`, by its path in the image. */
  services: {
    /** Path of the spec inside the image (under `rootfs/usr/local/etc/containers/`). */
    file: string;
    /** The decoded service spec. */
    spec: ServiceSpec;
  }[];
  /** Non-directory entries in the image. */
  files: number;
  /** Every finding, errors and warnings (the tree's own read diagnostics first). */
  diagnostics: Diagnostic[];
}

const MANIFEST = "manifest.yaml";
const ROOTFS = "rootfs";

/** Tree paths whose bytes validation needs: the manifest and the service specs. */
function filesToRead(index: TreeIndex): string[] {
  const out = [MANIFEST];
  const dir = `${ROOTFS}${SERVICE_SPEC_DIR}`;
  for (const name of index.list(dir)) if (name.endsWith(".yaml")) out.push(`${dir}/${name}`);
  return out.filter((p) => index.has(p));
}

type Contents = Map<string, Uint8Array | TalosExtError>;

function asError(e: unknown): TalosExtError {
  if (e instanceof TalosExtError) return e;
  throw e;
}

/** Validates an in-memory tree whose entries read synchronously (the image builder's trees). */
export function validateExtensionTree(
  tree: ExtensionTree,
  options: ValidateExtensionOptions = {},
): ExtensionReport {
  const talos = parseTalosVersion(options.talosVersion ?? DEFAULT_TALOS_VERSION);
  const index = new TreeIndex(tree);
  const contents: Contents = new Map();
  for (const p of filesToRead(index)) {
    try {
      contents.set(p, index.readSync(p, MAX_EXTENSION_DOCUMENT));
    } catch (e) {
      contents.set(p, asError(e));
    }
  }
  return validateIndexed(index, talos, options, contents);
}

/** Validates a tree whose entries may read asynchronously (directories, archives, images). */
export async function validateExtensionTreeAsync(
  tree: ExtensionTree,
  options: ValidateExtensionOptions = {},
): Promise<ExtensionReport> {
  const talos = parseTalosVersion(options.talosVersion ?? DEFAULT_TALOS_VERSION);
  const index = new TreeIndex(tree);
  const contents: Contents = new Map();
  for (const p of filesToRead(index)) {
    try {
      contents.set(p, await index.read(p, MAX_EXTENSION_DOCUMENT));
    } catch (e) {
      contents.set(p, asError(e));
    }
  }
  return validateIndexed(index, talos, options, contents);
}

/** Reads an extension from a directory, a tar (plain/gzip/zstd), an OCI layout directory or an OCI archive. */
export async function readExtension(input: string, platform?: string): Promise<ExtensionTree> {
  let isDir: boolean;
  try {
    isDir = (await stat(input)).isDirectory();
  } catch (e) {
    throw new TalosExtError({
      code: "EXT_INPUT_NOT_FOUND",
      message: `cannot read ${input}: ${(e as Error).message}`,
      hint: "pass an extension directory, a tar of one, or an OCI image layout",
      location: { file: input },
      cause: e,
    });
  }
  if (isDir) {
    const hasLayout = await stat(join(input, "oci-layout")).then(
      (s) => s.isFile(),
      () => false,
    );
    return hasLayout ? readOciLayout(input, platform) : readExtensionDir(input);
  }
  const tree = await readExtensionTar(input);
  const top = new TreeIndex(tree).list("");
  if (looksLikeOciLayout(top) && !top.includes(MANIFEST)) return readOciArchive(input, platform);
  if (top.includes("manifest.json") && !top.includes(MANIFEST) && !top.includes("rootfs")) {
    throw new TalosExtError({
      code: "EXT_INPUT_UNSUPPORTED",
      message: `${input} looks like a legacy \`docker save\` archive`,
      hint: `convert it to an OCI layout first, e.g. \`skopeo copy docker-archive:${input} oci:<dir>\``,
      location: { file: input },
    });
  }
  return tree;
}

/**
 * Reads an extension image (directory, tar, OCI layout or archive) and validates it as extensions-validator
 * does. Throws a coded TalosExtError when the input cannot be read or `talosVersion` is not a version; what
 * is wrong with the image is in the report's diagnostics.
 */
export async function validateExtension(
  input: string,
  options: ValidateExtensionOptions & {
    /**
     * The image to validate when the input is an OCI layout or archive with several
     * (`os/arch[/variant]`; default: the only image, else `linux/amd64`); ignored for a
     * directory or a plain tar.
     */
    platform?: "linux/amd64" | "linux/arm64" | (string & {});
  } = {},
): Promise<ExtensionReport> {
  // Refuse a bad --talos-version before reading a possibly large image.
  parseTalosVersion(options.talosVersion ?? DEFAULT_TALOS_VERSION);
  const tree = await readExtension(input, options.platform);
  return validateExtensionTreeAsync(tree, options);
}

function decodeFile(
  contents: Contents,
  path: string,
  file: string,
  diagnostics: Diagnostic[],
): DecodedYaml | undefined {
  const bytes = contents.get(path);
  if (bytes === undefined) return undefined;
  if (bytes instanceof TalosExtError) {
    diagnostics.push(...bytes.diagnostics);
    return undefined;
  }
  try {
    return decodeYamlBytes(bytes, { file });
  } catch (e) {
    diagnostics.push(...asError(e).diagnostics);
    return undefined;
  }
}

function rawText(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function validateIndexed(
  index: TreeIndex,
  talos: TalosVersionInfo,
  options: ValidateExtensionOptions,
  contents: Contents,
): ExtensionReport {
  const tree = index.tree;
  const at = (path: string) => entryLocation(tree, path);
  // What the reader found in the archive's paths and links (writes through symlinks, bad hard links).
  const diagnostics: Diagnostic[] = [...(tree.diagnostics ?? [])];
  const report: ExtensionReport = { ok: false, services: [], files: 0, diagnostics };

  // S1: only manifest.yaml and rootfs at the top.
  for (const name of index.list("")) {
    if (name === MANIFEST || name === ROOTFS) continue;
    diagnostics.push(
      diagnostic("EXT_UNEXPECTED_FILE", "error", `unexpected file ${goQuote(name)}`, {
        hint: "an extension image holds only manifest.yaml and rootfs/; move the file under rootfs/ or leave it out of the image",
        location: { file: at(name) },
      }),
    );
  }

  const manifest = checkManifest(index, talos, options, contents, diagnostics);
  if (manifest) report.manifest = manifest;

  // S3
  const rootfs = index.get(ROOTFS);
  if (rootfs?.type !== "dir") {
    diagnostics.push(
      diagnostic(
        "EXT_ROOTFS_MISSING",
        "error",
        rootfs
          ? `extension rootfs is missing: rootfs is a ${rootfs.type}, not a directory`
          : "extension rootfs is missing",
        {
          hint: "put the files the extension adds to the node under rootfs/ (rootfs/usr/local/bin/x lands at /usr/local/bin/x)",
          location: { file: at(rootfs ? ROOTFS : "") },
        },
      ),
    );
  }

  for (const e of index.entries()) if (e.type !== "dir") report.files++;
  if (rootfs?.type === "dir") {
    checkContents(index, talos, diagnostics);
    checkKernelModules(index, talos, options, diagnostics);
    report.services = checkServices(index, contents, diagnostics);
  }
  report.ok = !hasErrors(diagnostics);
  return report;
}

function checkManifest(
  index: TreeIndex,
  talos: TalosVersionInfo,
  options: ValidateExtensionOptions,
  contents: Contents,
  diagnostics: Diagnostic[],
): ExtensionManifest | undefined {
  const file = entryLocation(index.tree, MANIFEST);
  if (!index.has(MANIFEST)) {
    diagnostics.push(
      diagnostic("EXT_MANIFEST_MISSING", "error", "extension manifest is missing", {
        hint: "add manifest.yaml next to rootfs/ with version: v1alpha1 and metadata (name, version, author, description, compatibility)",
        location: { file: entryLocation(index.tree, "") },
      }),
    );
    return undefined;
  }
  const doc = decodeFile(contents, MANIFEST, file, diagnostics);
  if (!doc) return undefined;

  // S4 comes first in Talos: a wrong version stops loading before anything else is looked at.
  const raw =
    doc.value !== null && typeof doc.value === "object" && !Array.isArray(doc.value) ? doc.value : {};
  const version = rawText((raw as Record<string, unknown>).version);
  if (version !== "v1alpha1") {
    diagnostics.push(
      diagnostic("EXT_MANIFEST_VERSION", "error", `unsupported manifest version: ${goQuote(version)}`, {
        hint: "start manifest.yaml with `version: v1alpha1`",
        location: doc.has(["version"]) ? doc.locate(["version"]) : { file, line: 1, column: 1 },
      }),
    );
    return undefined;
  }

  const decoded = decodeManifest(doc);
  diagnostics.push(...decoded.diagnostics);
  const manifest = decoded.value;
  if (!manifest) return undefined;
  const meta = (manifest as { metadata?: Record<string, unknown> }).metadata ?? {};
  const name = rawText(meta.name);
  const metaVersion = rawText(meta.version);

  if (options.pkgName !== undefined && name !== options.pkgName) {
    diagnostics.push(
      diagnostic(
        "EXT_PKG_NAME_MISMATCH",
        "error",
        `pkg name does not match extension name: ${options.pkgName} != ${name}`,
        {
          hint: `set metadata.name to "${options.pkgName}" (the package name) or build the package the manifest names`,
          location: doc.locate(["metadata", "name"]),
        },
      ),
    );
  }

  if (matchVersionFormat(metaVersion) === undefined) {
    diagnostics.push(
      diagnostic(
        "EXT_VERSION_FORMAT",
        "error",
        `invalid version format ${metaVersion} for extension: ${name}`,
        {
          hint:
            `use one of: semver ("1.2.3", "v0.13.0-rc.1"), date ("20240101", "20240101.1"), ` +
            `build arg ("535.129.03-v1.8.0"), commit build arg ("5815ee3-v1.8.0"), partial semver ("v4.3"); quote it in YAML`,
          location: doc.locate(["metadata", "version"]),
        },
      ),
    );
  }

  const constraint = rawText(
    (
      (meta.compatibility as Record<string, unknown> | undefined)?.talos as
        | Record<string, unknown>
        | undefined
    )?.version,
  );
  const result = satisfiesConstraint(constraint, talos.full);
  if (!result.ok) {
    const location = doc.locate(["metadata", "compatibility", "talos", "version"]);
    diagnostics.push(
      result.reason === "invalid"
        ? diagnostic("EXT_CONSTRAINT_INVALID", "error", result.error!, {
            hint: 'write a blang range with full versions, e.g. ">= v1.10.0" or ">= 1.13.0 < 1.15.0" (no ^ or ~, no "1.10")',
            location,
          })
        : diagnostic("EXT_CONSTRAINT_UNSATISFIED", "error", result.error!, {
            hint: `this extension does not declare support for Talos ${talos.full}; build it for that release or target a Talos version inside ${constraint}`,
            location,
          }),
    );
  }
  return manifest;
}

function usrMergeHint(abs: string, talos: TalosVersionInfo, prefixes: readonly string[]): string {
  if (atLeast(talos, 1, 10) && /^\/(lib|lib64|bin|sbin)\//.test(abs)) {
    return `Talos ${talos.full} is usr-merged: /lib, /lib64, /bin and /sbin are symlinks into /usr; ship under /usr/... (your own files under /usr/local/)`;
  }
  if (!atLeast(talos, 1, 10) && /^\/usr\/lib\/(modules|firmware)(\/|$)/.test(abs)) {
    return `Talos ${talos.full} predates the usr-merge: modules and firmware go under /lib/modules and /lib/firmware`;
  }
  return `put binaries, libraries and service files under /usr/local/; allowed prefixes for Talos ${talos.full}: ${prefixes.join(", ")}`;
}

/** C1–C3 over every non-directory under rootfs/, plus the path-boundary lint. */
function checkContents(index: TreeIndex, talos: TalosVersionInfo, diagnostics: Diagnostic[]) {
  const prefixes = allowedPathPrefixes(talos);
  for (const e of index.entries()) {
    if (!e.path.startsWith(`${ROOTFS}/`) || e.type === "dir") continue;
    const abs = e.path.slice(ROOTFS.length);
    const location = { file: entryLocation(index.tree, e.path) };
    if (e.type === "char" || e.type === "block" || e.type === "fifo" || e.type === "socket") {
      diagnostics.push(
        diagnostic("EXT_SPECIAL_FILE", "error", `special files are not allowed: ${goQuote(abs)}`, {
          hint: `extensions may contain only regular files and symlinks; drop this ${e.type === "char" || e.type === "block" ? `${e.type} device` : e.type} from the image`,
          location,
        }),
      );
    }
    if (!isPathAllowed(abs, prefixes)) {
      diagnostics.push(
        diagnostic("EXT_PATH_NOT_ALLOWED", "error", `path ${goQuote(abs)} is not allowed in extensions`, {
          hint: usrMergeHint(abs, talos, prefixes),
          location,
        }),
      );
    } else if (!isPathAllowedOnBoundary(abs, prefixes)) {
      const prefix = prefixes.find((p) => abs.startsWith(p))!;
      diagnostics.push(
        diagnostic(
          "LINT_PATH_PREFIX_BOUNDARY",
          "warning",
          `path ${goQuote(abs)} passes Talos's allow-list only because it starts with the string ${goQuote(prefix)}`,
          {
            hint: `Talos compares raw string prefixes, so this is accepted, but it is not inside ${prefix}; check the path is intended (e.g. ${prefix}/…)`,
            location,
          },
        ),
      );
    }
    if ((e.type === "file" || e.type === "hardlink") && (e.mode & 0o002) !== 0) {
      diagnostics.push(
        diagnostic(
          "EXT_WORLD_WRITABLE",
          "warning",
          `world-writeable files are not allowed: ${goQuote(abs)} (stricter than Talos: its check for this never fires)`,
          {
            hint: `drop the o+w bit (chmod o-w); the extension overlay is read-only anyway, so the mode only misleads (mode ${e.mode.toString(8).padStart(4, "0")})`,
            location,
          },
        ),
      );
    }
  }
}

function checkKernelModules(
  index: TreeIndex,
  talos: TalosVersionInfo,
  options: ValidateExtensionOptions,
  diagnostics: Diagnostic[],
) {
  const modRoot = kernelModulesRoot(talos);
  const rootPath = `${ROOTFS}${modRoot}`;
  const prefixes = allowedPathPrefixes(talos);
  const at = (p: string) => ({ file: entryLocation(index.tree, p) });
  const krel = options.kernelRelease;
  const rootEntry = index.get(rootPath);
  if (rootEntry) {
    const releases = index.list(rootPath).filter((n) => index.get(`${rootPath}/${n}`)?.type === "dir");
    if (releases.length === 0) {
      diagnostics.push(
        diagnostic(
          "LINT_KERNEL_MODULE_PATH",
          "error",
          `${rootPath} exists but holds no kernel release directory; the imager then fails with "copying kernel modules ... failed"`,
          {
            hint: `put modules under ${rootPath}/<kernel release>/ (the exact release of the Talos kernel, e.g. 6.18.45-talos), or remove ${rootPath}: its mere presence triggers the depmod step`,
            location: at(rootPath),
          },
        ),
      );
    } else if (krel !== undefined && !releases.includes(krel)) {
      diagnostics.push(
        diagnostic(
          "LINT_KERNEL_MODULE_PATH",
          "error",
          `${rootPath} has no directory for the Talos kernel release ${krel} (found: ${releases.join(", ")})`,
          {
            hint: "modules must be built (and signed) for the exact kernel of the target Talos release",
            location: at(rootPath),
          },
        ),
      );
    } else if (releases.length > 1) {
      diagnostics.push(
        diagnostic(
          "LINT_KERNEL_MODULE_PATH",
          "warning",
          `${rootPath} holds several kernel release directories (${releases.join(", ")}); only the Talos kernel's one is used`,
          { hint: "ship modules for the target Talos kernel release only", location: at(rootPath) },
        ),
      );
    }
  }
  for (const e of index.entries()) {
    if (!e.path.startsWith(`${ROOTFS}/`) || e.type === "dir" || !KERNEL_MODULE_FILE.test(e.path)) continue;
    const abs = e.path.slice(ROOTFS.length);
    if (!isPathAllowed(abs, prefixes)) continue; // already an EXT_PATH_NOT_ALLOWED error
    if (abs.startsWith(`${modRoot}/`)) {
      const parts = abs.slice(modRoot.length + 1).split("/");
      if (parts.length < 2) {
        diagnostics.push(
          diagnostic(
            "LINT_KERNEL_MODULE_PATH",
            "error",
            `kernel module ${abs} is not inside a kernel release directory`,
            {
              hint: `move it to ${modRoot}/<kernel release>/extras/ (modules under extras/ take priority in depmod)`,
              location: at(e.path),
            },
          ),
        );
      } else if (krel !== undefined && parts[0] !== krel) {
        diagnostics.push(
          diagnostic(
            "LINT_KERNEL_MODULE_PATH",
            "error",
            `kernel module ${abs} is built for kernel release ${parts[0]}, not ${krel}`,
            {
              hint: "rebuild the module against the Talos kernel of the target release",
              location: at(e.path),
            },
          ),
        );
      }
    } else {
      diagnostics.push(
        diagnostic(
          "LINT_KERNEL_MODULE_PATH",
          "warning",
          `kernel module ${abs} is outside ${modRoot}/ and is never loaded by Talos`,
          {
            hint: `ship modules under ${modRoot}/<kernel release>/ and request them in the machine config`,
            location: at(e.path),
          },
        ),
      );
    }
  }
}

function checkServices(
  index: TreeIndex,
  contents: Contents,
  diagnostics: Diagnostic[],
): ExtensionReport["services"] {
  const specDir = `${ROOTFS}${SERVICE_SPEC_DIR}`;
  const containerDir = `${ROOTFS}${CONTAINER_ROOT_DIR}`;
  const loaded: { path: string; file: string; doc: DecodedYaml; spec: ServiceSpec }[] = [];

  for (const name of index.list(specDir)) {
    const path = `${specDir}/${name}`;
    const file = entryLocation(index.tree, path);
    const entry = index.get(path);
    if (!name.endsWith(".yaml")) {
      const ignored =
        name.endsWith(".yml") || (entry?.type === "dir" && index.list(path).some((n) => n.endsWith(".yaml")));
      if (ignored) {
        diagnostics.push(
          diagnostic(
            "LINT_SERVICE_SPEC_IGNORED",
            "warning",
            `${SERVICE_SPEC_DIR}/${name} is never loaded: Talos reads only *.yaml files directly in ${SERVICE_SPEC_DIR}`,
            {
              hint:
                entry?.type === "dir"
                  ? `move the specs up into ${SERVICE_SPEC_DIR}/`
                  : `rename it to ${name.replace(/\.yml$/, ".yaml")}`,
              location: { file },
            },
          ),
        );
      }
      continue;
    }
    const doc = decodeFile(contents, path, file, diagnostics);
    if (!doc) continue;
    const decoded = decodeServiceSpec(doc);
    diagnostics.push(...decoded.diagnostics.map((d) => (d.file ? d : { ...d, file })));
    if (decoded.value) loaded.push({ path, file, doc, spec: decoded.value });
  }

  const names = loaded.map((s) => s.spec.name);
  const first = new Map<string, string>();
  for (const s of loaded) {
    const seen = first.get(s.spec.name);
    if (seen === undefined) first.set(s.spec.name, s.path);
    else {
      diagnostics.push(
        diagnostic(
          "LINT_SERVICE_DUPLICATE_NAME",
          "error",
          `service "${s.spec.name}" is also defined in ${seen.slice(seen.lastIndexOf("/") + 1)}; Talos skips this spec as a duplicate`,
          { hint: "give every service spec a unique name", location: s.doc.locate(["name"]) },
        ),
      );
    }
  }

  const containerDirs = index
    .list(containerDir)
    .filter((n) => index.get(`${containerDir}/${n}`)?.type === "dir");
  const hasPath = (abs: string): boolean => {
    const m = /^\/usr\/local\/lib\/containers\/([^/]+)(\/.*)?$/.exec(abs);
    const r = m?.[2]
      ? index.resolve(`${containerDir}/${m[1]}`, m[2], { followFinal: false, clampAtBase: true })
      : index.resolve(ROOTFS, abs, { followFinal: false, clampAtBase: true });
    return r.found;
  };
  for (const s of loaded) {
    diagnostics.push(
      ...lintServiceSpec(s.spec, {
        file: s.file,
        locate: s.doc.locate,
        specFileName: s.path.slice(s.path.lastIndexOf("/") + 1),
        hasPath,
        containerDirs,
        otherServices: names,
      }),
    );
  }
  return loaded.map((s) => ({ file: s.file, spec: s.spec }));
}
