/**
 * Extension-level lints on the source tree: the manifest a package ships (name, version format,
 * compatibility, that it is finalized at `/manifest.yaml`) and the service specs in its directory,
 * checked before anything is built.
 */
import { readdir } from "node:fs/promises";
import { posix } from "node:path";
import { type Diagnostic, diagnostic } from "../errors.ts";
import { satisfiesConstraint } from "../extension/constraint.ts";
import { CONTAINER_ROOT_DIR, matchVersionFormat } from "../extension/rules.ts";
import { lintServiceSpec } from "../extension/service-lint.ts";
import type { LoadedPackage, LoadedTree } from "../loader/index.ts";
import { readTreeFile } from "../loader/read-file.ts";
import { decodeManifest, decodeServiceSpec } from "../schema/index.ts";
import { decodeUtf8Faithful } from "../utf8.ts";
import { type DecodedYaml, decodeYaml } from "../yaml/decode.ts";
import type { FsFacts } from "./fs-facts.ts";
import type { TreeFilesystems } from "./package-fs.ts";
import { finalizedPkgFile } from "./tree-lints.ts";

interface ManifestSource {
  file: string;
  content: string;
}

async function manifestOf(tree: LoadedTree, p: LoadedPackage): Promise<ManifestSource | undefined> {
  const templated = p.templatedFiles.find((t) => t.path === "manifest.yaml");
  if (templated) return { file: templated.source, content: templated.content };
  const file = posix.join(p.dir, "manifest.yaml");
  const content = await readTreeFile(posix.join(tree.root, file), { file }).then(
    decodeUtf8Faithful,
    () => undefined,
  );
  return content === undefined ? undefined : { file, content };
}

function safeDecode(text: string, file: string, out: Diagnostic[]): DecodedYaml | undefined {
  try {
    return decodeYaml(text, { file });
  } catch (e) {
    const err = e as { toDiagnostic?: () => Diagnostic };
    if (err.toDiagnostic) out.push(err.toDiagnostic());
    return undefined;
  }
}

/**
 * Renders lint's doubt: `reasons` (what wrote content lint cannot see) as a short list for a
 * message, at most three of them.
 */
export function describeUnknown(reasons: readonly string[]): string {
  const shown = reasons.slice(0, 3).join("; ");
  return reasons.length > 3 ? `${shown}; and ${reasons.length - 3} more` : shown;
}

/**
 * The package's own manifest (name, version format, compatibility) and whether its image has it
 * at `/manifest.yaml`, judged on the image its stage graph makes.
 */
export async function lintManifest(
  tree: LoadedTree,
  p: LoadedPackage,
  talosVersion: string,
  filesystems: TreeFilesystems,
): Promise<Diagnostic[]> {
  const out: Diagnostic[] = [];
  const source = await manifestOf(tree, p);
  if (!source) return out;
  const doc = safeDecode(source.content, source.file, out);
  if (!doc) return out;
  const decoded = decodeManifest(doc);
  out.push(...decoded.diagnostics);
  const m = decoded.value;
  if (!m) return out;
  if (m.metadata.name !== p.name) {
    out.push(
      diagnostic(
        "LINT_MANIFEST_NAME_MISMATCH",
        "error",
        `manifest name "${m.metadata.name}" differs from package name "${p.name}"`,
        {
          hint: "extensions-validator --pkg-name rejects this; make metadata.name equal the pkg.yaml name",
          location: doc.locate(["metadata", "name"]),
        },
      ),
    );
  }
  if (!matchVersionFormat(m.metadata.version)) {
    out.push(
      diagnostic(
        "EXT_VERSION_FORMAT",
        "error",
        `invalid version format ${m.metadata.version} for extension: ${m.metadata.name}`,
        {
          hint: 'use semver ("1.2.3"), a date ("20240101"), or <upstream>-v<talos> forms; quote it in YAML',
          location: doc.locate(["metadata", "version"]),
        },
      ),
    );
  }
  const constraint = m.metadata.compatibility.talos.version;
  const check = satisfiesConstraint(constraint, talosVersion);
  if (!check.ok) {
    const parseError = check.error?.startsWith("error parsing");
    out.push(
      diagnostic(
        parseError ? "EXT_CONSTRAINT_INVALID" : "EXT_CONSTRAINT_UNSATISFIED",
        "error",
        check.error ?? "constraint not satisfied",
        {
          hint: parseError
            ? 'write a blang/semver range with full versions, e.g. ">= v1.10.0"'
            : `the imager refuses this extension for Talos ${talosVersion}; widen the constraint or lint with --talos-version`,
          location: doc.locate(["metadata", "compatibility", "talos", "version"]),
        },
      ),
    );
  }
  const placed = finalizedPkgFile(p, "manifest.yaml");
  if (placed === "/manifest.yaml") return out;
  // Another finalize entry (a whole directory, or a stage dependency's content) may still put
  // a manifest at the image root; only when nothing can is it certainly missing.
  const atRoot = (await filesystems.of(p.name)).output.lookup("/manifest.yaml");
  if (atRoot.state === "present") return out;
  const location = p.doc.locate(["finalize"], "key");
  if (atRoot.state === "unknown") {
    out.push(
      diagnostic(
        "LINT_MANIFEST_UNVERIFIED",
        "warning",
        `manifest.yaml is ${placed ? `finalized to "${placed}"` : "not finalized from /pkg/manifest.yaml"}, and lint cannot tell whether /manifest.yaml reaches the image otherwise (unknown content from ${describeUnknown(atRoot.reasons)})`,
        {
          hint: "finalize `from: /pkg/manifest.yaml` `to: /` so the manifest's place does not depend on a build step",
          location,
        },
      ),
    );
    return out;
  }
  out.push(
    diagnostic(
      "LINT_MANIFEST_NOT_FINALIZED",
      "error",
      placed
        ? `manifest.yaml is finalized to "${placed}", not to /manifest.yaml`
        : "manifest.yaml is never copied into the image by finalize",
      {
        hint: "add a finalize entry `from: /pkg/manifest.yaml` `to: /` (Talos needs /manifest.yaml at the image root)",
        location,
      },
    ),
  );
  return out;
}

/** YAML files in the package directory that are service specs (they have a `container` key). */
async function serviceSpecFiles(
  tree: LoadedTree,
  p: LoadedPackage,
): Promise<{ file: string; text: string }[]> {
  const dir = posix.join(tree.root, p.dir);
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: { file: string; text: string }[] = [];
  for (const name of names.sort()) {
    if (!name.endsWith(".yaml") || name === "pkg.yaml" || name === "vars.yaml" || name === "manifest.yaml")
      continue;
    const text = await readTreeFile(posix.join(dir, name), { file: name }).then(decodeUtf8Faithful, () => "");
    if (/^container:/m.test(text) && /^name:/m.test(text)) out.push({ file: posix.join(p.dir, name), text });
  }
  return out;
}

/** Codes that lintServiceSpec raises from path answers, and the warning each becomes when lint is unsure. */
const UNVERIFIED: Record<string, string> = {
  LINT_SERVICE_CONTAINER_DIR_MISSING: "LINT_SERVICE_CONTAINER_DIR_UNVERIFIED",
  LINT_SERVICE_ENTRYPOINT_MISSING: "LINT_SERVICE_ENTRYPOINT_UNVERIFIED",
};

const key = (d: Diagnostic) => `${d.code}\0${d.file}\0${d.line}\0${d.column}`;

/**
 * Service specs against the package's image as its stage graph builds it. Each spec is linted
 * twice: once taking every path lint cannot know as absent, once as present. What only the first
 * run reports depends on content lint cannot see, and becomes a warning saying what that is.
 */
export async function lintServiceSpecs(
  tree: LoadedTree,
  p: LoadedPackage,
  filesystems: TreeFilesystems,
): Promise<Diagnostic[]> {
  const out: Diagnostic[] = [];
  const files = await serviceSpecFiles(tree, p);
  if (files.length === 0) return out;
  // Talos sees the image's /rootfs as the node's /.
  const onNode = (path: string) => posix.join("/rootfs", path);
  const decoded = files.map((f) => {
    // Not every YAML file next to a pkg.yaml is surely a spec (some are processed by scripts
    // first), so a file that does not even parse is only a warning here.
    const yamlProblems: Diagnostic[] = [];
    const doc = safeDecode(f.text, f.file, yamlProblems);
    out.push(...yamlProblems.map((d) => ({ ...d, severity: "warning" as const })));
    const spec = doc ? decodeServiceSpec(doc) : undefined;
    if (spec) out.push(...spec.diagnostics);
    return { ...f, doc, spec: spec?.value };
  });
  const names = decoded.map((d) => d.spec?.name).filter((n): n is string => Boolean(n));
  for (const d of decoded) {
    if (!d.spec || !d.doc) continue;
    const doc = d.doc;
    const image = (await filesystems.of(await imageShipping(d.file, p, filesystems))).output;
    const containerDirs = image.children(onNode(CONTAINER_ROOT_DIR));
    const unknown = new Set<string>();
    const run = (assumeUnknown: boolean) =>
      lintServiceSpec(d.spec!, {
        file: d.file,
        locate: (path, which) => doc.locate(path, which),
        hasPath: (path) => answer(image, onNode(path), assumeUnknown, unknown),
        containerDirs,
        otherServices: names,
      });
    const pessimistic = run(false);
    const certain = new Set(run(true).map(key));
    for (const diag of pessimistic) {
      const weaker = UNVERIFIED[diag.code];
      if (!weaker) {
        out.push(diag);
        continue;
      }
      if (certain.has(key(diag))) {
        // An entrypoint is a file some build step makes; from the source, even a certain miss
        // stays a warning. `talos-ext validate` checks the built image and makes it an error.
        out.push(diag.code === "LINT_SERVICE_ENTRYPOINT_MISSING" ? { ...diag, severity: "warning" } : diag);
        continue;
      }
      const clause = diag.message.split(";")[0]!.replace(/ exists neither in .*/, " is not found");
      out.push({
        ...diag,
        code: weaker,
        severity: "warning",
        message: `${clause} as far as lint can tell (unknown content from ${describeUnknown(ownFirst(unknown))})`,
      });
    }
  }
  return out;
}

/**
 * The package whose image a spec is checked against: the image that ships it (traced from
 * `/pkg`), preferring the spec's own package, and one that is an extension (has a manifest at
 * its root) over a helper stage. A spec nobody traceably ships is checked against its own
 * package's image.
 */
async function imageShipping(file: string, p: LoadedPackage, filesystems: TreeFilesystems): Promise<string> {
  const shippers = await filesystems.shippersOf(file);
  if (shippers.length === 0) return p.name;
  const ranked: { name: string; rank: number }[] = [];
  for (const name of shippers) {
    const extension = (await filesystems.of(name)).output.lookup("/manifest.yaml").state === "present";
    ranked.push({ name, rank: (extension ? 0 : 2) + (name === p.name ? 0 : 1) });
  }
  ranked.sort((a, b) => a.rank - b.rank);
  return ranked[0]!.name;
}

/** The package's own scripts first: they are what the author can change; dependencies' images last. */
function ownFirst(reasons: Iterable<string>): string[] {
  const all = [...reasons];
  const rank = (r: string) => (r.includes(" via stage ") ? 2 : r.startsWith("image ") ? 1 : 0);
  return all.sort((a, b) => rank(a) - rank(b));
}

function answer(image: FsFacts, path: string, assumeUnknown: boolean, unknown: Set<string>): boolean {
  const a = image.lookup(path);
  if (a.state === "present") return true;
  if (a.state === "absent") return false;
  for (const r of a.reasons) unknown.add(r);
  return assumeUnknown;
}
