import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join, posix, relative, resolve } from "node:path";
import { updateChecksums } from "@talos-ext/image";
import {
  assertExtensionName,
  loadTree,
  type ScaffoldBuilder,
  scaffoldExtension,
  TalosExtError,
} from "@talos-ext/spec";
import { type Command, stringOption, usageError } from "../command.ts";
import { printJson } from "../report.ts";
import { ROOT_OPTION, rootDir } from "./shared.ts";

/** `stage:NAME` or `image:REF` -> the scaffold's builder. */
function builderOption(value: string | undefined): ScaffoldBuilder | undefined {
  if (value === undefined) return undefined;
  const colon = value.indexOf(":");
  const kind = value.slice(0, colon);
  const what = value.slice(colon + 1);
  if (colon > 0 && what && kind === "stage") return { stage: what };
  if (colon > 0 && what && kind === "image") return { image: what };
  throw usageError(`--builder "${value}": expected stage:NAME or image:REF`, "e.g. --builder stage:base");
}

export const newCommand: Command = {
  name: "new",
  summary: "scaffold a new extension package that lints clean and builds without edits",
  description: [
    "Writes <dir>/pkg.yaml, vars.yaml and manifest.yaml.tmpl (with --service also a service spec",
    "and a small static C daemon in src/) into the tree, from the same template as the Nx",
    "generator `nx g @talos-ext/nx:extension`. With --source, the checksums are filled by",
    "downloading it, as `talos-ext update VERSION` does; if that fails, nothing is left behind.",
    "Builds need a build environment: --builder (default stage:base, the tree's build root);",
    "--no-build makes a files-only package that builds without any engine.",
  ].join("\n"),
  positionals: [{ name: "name", required: true, description: "package and extension name, e.g. my-tool" }],
  options: {
    ...ROOT_OPTION,
    dir: {
      type: "string",
      value: "PATH",
      description: "package directory, relative to --root; default: <name>",
    },
    service: { type: "boolean", description: "add an extension service (ext-<name>) built from src/" },
    source: { type: "string", value: "URL", description: "upstream source archive to fetch in the build" },
    "package-version": { type: "string", value: "V", description: "VERSION in vars.yaml; default 0.1.0" },
    "no-build": { type: "boolean", description: "no build steps: files/ only, built without any engine" },
    builder: {
      type: "string",
      value: "stage:NAME|image:REF",
      description: "build environment of the steps; default stage:base",
    },
    description: { type: "string", value: "TEXT", description: "one line for the manifest" },
    "cache-dir": {
      type: "string",
      value: "DIR",
      description: "source cache for --source; default: ~/.cache/talos-ext/sources",
    },
  },
  examples: [
    "talos-ext new my-rules --root extensions --no-build",
    "talos-ext new my-daemon --root extensions --service --builder stage:base",
    "talos-ext new my-tool --root extensions --source https://example.org/my-tool-1.2.0.tar.gz --package-version 1.2.0",
    "talos-ext new demo --root extensions --dir examples/demo --builder 'image:{{ .TOOLCHAIN_IMAGE }}' --json",
  ],
  async run(ctx) {
    const root = rootDir(ctx);
    const name = assertExtensionName(ctx.positionals[0]!);
    const dir = stringOption(ctx.values.dir) ?? name;
    const target = resolve(root, dir);
    const rel = relative(root, target);
    if (rel === "" || rel.startsWith("..") || posix.isAbsolute(rel)) {
      throw usageError(`--dir "${dir}" must be a directory inside the tree root`);
    }
    if (existsSync(target)) {
      throw new TalosExtError({
        code: "CLI_NEW_DIR_EXISTS",
        message: `"${rel}" already exists in the tree`,
        hint: "pick another --dir or name; new never overwrites files",
      });
    }
    const tree = await loadTree({ root });
    const taken = tree.packages.get(name);
    if (taken) {
      throw new TalosExtError({
        code: "CLI_NEW_NAME_TAKEN",
        message: `a package named "${name}" already exists (${taken.file})`,
        hint: "package names must be unique in a tree; pick another name",
      });
    }
    const version = stringOption(ctx.values["package-version"]);
    const source = stringOption(ctx.values.source);
    const builder = builderOption(stringOption(ctx.values.builder));
    const description = stringOption(ctx.values.description);
    const scaffold = scaffoldExtension({
      name,
      ...(version !== undefined ? { version } : {}),
      ...(source !== undefined ? { sourceUrl: source } : {}),
      ...(builder ? { builder } : {}),
      ...(description !== undefined ? { description } : {}),
      service: ctx.values.service === true,
      noBuild: ctx.values["no-build"] === true,
    });
    // Everything is written next to the target and renamed into place: never half a package.
    const staging = join(dirname(target), `.${name}.new-${randomBytes(4).toString("hex")}`);
    try {
      for (const f of scaffold.files) {
        const file = join(staging, f.path);
        await mkdir(dirname(file), { recursive: true });
        await writeFile(file, f.content);
        await chmod(file, f.mode ?? 0o644);
      }
      await rename(staging, target);
    } catch (cause) {
      await rm(staging, { recursive: true, force: true });
      throw new TalosExtError({
        code: "CLI_NEW_WRITE_FAILED",
        message: `cannot write the new package to "${rel}"`,
        hint: "check the directory's permissions and free space",
        cause,
      });
    }
    const cacheDir = stringOption(ctx.values["cache-dir"]);
    let updated = false;
    if (scaffold.updateVariable) {
      try {
        await updateChecksums({
          root,
          variable: scaffold.updateVariable,
          file: posix.join(rel.split("\\").join("/"), "vars.yaml"),
          env: ctx.io.env,
          ...(cacheDir ? { cacheDir: resolve(ctx.io.cwd, cacheDir) } : {}),
          onEvent: (e) => {
            if (!ctx.json && e.kind === "download") ctx.io.stderr(`downloading ${e.url}\n`);
          },
        });
        updated = true;
      } catch (e) {
        await rm(target, { recursive: true, force: true });
        throw e;
      }
    }
    const files = scaffold.files.map((f) => posix.join(rel, f.path));
    if (ctx.json) {
      printJson(ctx.io, { ok: true, name, dir: rel, files, checksumsFilled: updated });
    } else {
      for (const f of files) ctx.io.stdout(`created ${f}\n`);
      if (updated) ctx.io.stdout(`filled the source checksums in ${posix.join(rel, "vars.yaml")}\n`);
      const shown = relative(ctx.io.cwd, root);
      ctx.io.stdout(
        `next: talos-ext lint --root ${shown.startsWith("..") ? root : shown || "."} --target ${name}\n`,
      );
    }
    return 0;
  },
};
