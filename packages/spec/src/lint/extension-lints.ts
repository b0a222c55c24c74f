/**
 * Extension-level lints on the source tree: the manifest a package ships (name, version format,
 * compatibility, that it is finalized at `/manifest.yaml`) and the service specs in its directory,
 * checked before anything is built.
 */
import { readdir } from "node:fs/promises";
import { posix } from "node:path";
import { type Diagnostic, diagnostic } from "../errors.ts";
import { satisfiesConstraint } from "../extension/constraint.ts";
import { matchVersionFormat } from "../extension/rules.ts";
import { lintServiceSpec } from "../extension/service-lint.ts";
import type { LoadedPackage, LoadedTree } from "../loader/index.ts";
import { readTreeFile } from "../loader/read-file.ts";
import { decodeManifest, decodeServiceSpec } from "../schema/index.ts";
import { decodeUtf8Faithful } from "../utf8.ts";
import { type DecodedYaml, decodeYaml } from "../yaml/decode.ts";
import { finalizedPkgFile, scriptText } from "./tree-lints.ts";

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

export async function lintManifest(
  tree: LoadedTree,
  p: LoadedPackage,
  talosVersion: string,
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
  if (placed !== "/manifest.yaml") {
    out.push(
      diagnostic(
        "LINT_MANIFEST_NOT_FINALIZED",
        "error",
        placed
          ? `manifest.yaml is finalized to "${placed}", not to /manifest.yaml`
          : "manifest.yaml is never copied into the image by finalize",
        {
          hint: "add a finalize entry `from: /pkg/manifest.yaml` `to: /` (Talos needs /manifest.yaml at the image root)",
          location: p.doc.locate(["finalize"], "key"),
        },
      ),
    );
  }
  return out;
}

/**
 * Container directory names the scripts create. Undefined (unknown) when no script touches
 * the containers root (the directory may come from /pkg or a dependency) or a name is computed.
 */
function containerDirsFromScripts(script: string): string[] | undefined {
  if (!script.includes("usr/local/lib/containers/")) return undefined;
  const names = new Set<string>();
  for (const m of script.matchAll(/usr\/local\/lib\/containers\/([^\s"'/;|&)]+)/g)) {
    const name = m[1]!;
    if (/[$`{*?]/.test(name)) return undefined;
    names.add(name);
  }
  return [...names];
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

export async function lintServiceSpecs(tree: LoadedTree, p: LoadedPackage): Promise<Diagnostic[]> {
  const out: Diagnostic[] = [];
  const files = await serviceSpecFiles(tree, p);
  if (files.length === 0) return out;
  const script = scriptText(p);
  const containerDirs = containerDirsFromScripts(script);
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
    out.push(
      ...lintServiceSpec(d.spec, {
        file: d.file,
        locate: (path, which) => doc.locate(path, which),
        // Before a build only the container directories the scripts create are known.
        hasPath: (path) => {
          const m = /^\/usr\/local\/lib\/containers\/([^/]+)\/?$/.exec(path);
          return m && containerDirs ? containerDirs.includes(m[1]!) : undefined;
        },
        ...(containerDirs ? { containerDirs } : {}),
        otherServices: names,
      }),
    );
  }
  return out;
}
