import { existsSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { type UpdateEvent, type UpdateResult, updateChecksums, updateFromDiff } from "@talos-ext/image";
import { type Command, type CommandContext, keyValueOption, stringOption, usageError } from "../command.ts";
import { throttledDownloadLines } from "../download-lines.ts";
import type { CliIo } from "../io.ts";
import { printDiagnostics, printJson } from "../report.ts";
import { BUILD_ARG_OPTION, ROOT_OPTION, rootDir } from "./shared.ts";

/** A CliIo may bring its own stdin (tests do); the binary reads the process's. */
type IoWithStdin = CliIo & { stdin?: () => Promise<string> };

async function readStdin(io: IoWithStdin): Promise<string> {
  if (io.stdin) return io.stdin();
  if (process.stdin.isTTY) {
    throw usageError(
      "update --diff reads a unified diff from stdin",
      "pipe one in: git diff -U0 | talos-ext update --diff",
    );
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

/** `--file` is relative to --root, as in bldr; a path that only exists relative to the cwd is taken from there. */
function fileOption(ctx: CommandContext, root: string): string | undefined {
  const file = stringOption(ctx.values.file);
  if (file === undefined || isAbsolute(file)) return file;
  if (!existsSync(resolve(root, file)) && existsSync(resolve(ctx.io.cwd, file)))
    return resolve(ctx.io.cwd, file);
  return file;
}

const short = (hex: string) => (hex.length > 16 ? `${hex.slice(0, 12)}…` : hex);

function printResult(io: CliIo, r: UpdateResult): void {
  for (const s of r.sources) {
    io.stdout(
      `${s.destination} (${s.packages.join(", ")}; ${s.platforms.join(", ")}; via ${s.variables.join(", ")})\n`,
    );
    io.stdout(`  ${s.url}\n`);
    for (const alg of ["sha256", "sha512"] as const) {
      const same = s.old[alg].toLowerCase() === s.new[alg];
      io.stdout(
        `  ${alg} ${same ? `${short(s.new[alg])} (unchanged)` : `${short(s.old[alg])} -> ${short(s.new[alg])}`}\n`,
      );
    }
  }
  if (r.dryRun) {
    for (const f of r.files) io.stdout(f.diff);
    io.stdout(
      r.files.length
        ? `dry run: ${r.files.length} file(s) would change\n`
        : "dry run: nothing would change\n",
    );
  } else {
    for (const f of r.files) io.stdout(`updated ${f.file} (${f.replacements} replacement(s))\n`);
    if (r.files.length === 0) io.stdout("nothing to change\n");
  }
}

export const updateCommand: Command = {
  name: "update",
  summary:
    "refresh source checksums after a version bump (like `bldr update`), keeping comments and formatting",
  description: [
    "Finds every source whose URL uses VAR (on linux/amd64 and linux/arm64), downloads it, and",
    "replaces its old sha256 and sha512 with the new ones, as plain text, in the Pkgfile and every",
    "vars.yaml: comments, quoting and order stay as they are. pkg.yaml files are not rewritten; a",
    "checksum written inline there is reported with its new value. Downloads are stored in the",
    "source cache, so the next build does not fetch them again. Nothing is written if any download",
    "fails. With --diff, reads `git diff -U0` from stdin and updates every KEY: added to a Pkgfile or",
    "vars.yaml (keys containing sha256/sha512 are skipped).",
  ].join("\n"),
  positionals: [
    {
      name: "VAR",
      required: false,
      description: "the variable you bumped, e.g. FOO_VERSION (omit with --diff)",
    },
  ],
  options: {
    ...ROOT_OPTION,
    file: {
      type: "string",
      value: "FILE",
      description:
        "Pkgfile or vars.yaml that defines VAR (relative to --root); default: the one file that does",
    },
    ...BUILD_ARG_OPTION,
    "dry-run": { type: "boolean", description: "print the changes as a diff; write nothing" },
    diff: {
      type: "boolean",
      description: "read a unified diff from stdin and update every variable it adds",
    },
    "cache-dir": {
      type: "string",
      value: "DIR",
      description: "source cache; default: ~/.cache/talos-ext/sources",
    },
  },
  examples: [
    "talos-ext update FOO_VERSION --root extensions",
    "talos-ext update FOO_VERSION --file storage/foo/vars.yaml --dry-run",
    "git diff -U0 | talos-ext update --diff --root extensions",
    "talos-ext update TAG --build-arg TAG=v1.2.3 --json",
  ],
  async run(ctx) {
    const root = rootDir(ctx);
    const variable = ctx.positionals[0];
    const diffMode = ctx.values.diff === true;
    if (diffMode && variable !== undefined) throw usageError("update: give either VAR or --diff, not both");
    if (!diffMode && variable === undefined)
      throw usageError("update: missing argument <VAR>", "or pass --diff");
    if (diffMode && ctx.values.file !== undefined) throw usageError("update: --file does not go with --diff");
    const cacheDir = stringOption(ctx.values["cache-dir"]);
    // A slow download shows it is alive, one line per URL every 5 s at most.
    const slow = throttledDownloadLines(5000);
    const onEvent = (e: UpdateEvent) => {
      if (ctx.json) return;
      if (e.kind === "download") ctx.io.stderr(`downloading ${e.url}\n`);
      else if (e.kind === "downloaded") ctx.io.stderr(`downloaded ${e.url} (${e.size} bytes)\n`);
      else if (e.kind === "progress" && e.elapsedMs >= 5000) {
        const line = slow(e);
        if (line) ctx.io.stderr(`  ${line}\n`);
      }
    };
    const common = {
      root,
      buildArgs: keyValueOption(ctx.values["build-arg"], "build-arg"),
      dryRun: ctx.values["dry-run"] === true,
      ...(cacheDir ? { cacheDir: resolve(ctx.io.cwd, cacheDir) } : {}),
      env: ctx.io.env,
      onEvent,
    };
    const file = fileOption(ctx, root);
    const result = diffMode
      ? await updateFromDiff({ ...common, diff: await readStdin(ctx.io) })
      : await updateChecksums({ ...common, variable: variable!, ...(file !== undefined ? { file } : {}) });
    if (ctx.json) {
      printJson(ctx.io, { ok: true, ...result });
      return 0;
    }
    printResult(ctx.io, result);
    printDiagnostics(
      ctx.io,
      result.diagnostics.filter((d) => d.severity !== "info"),
    );
    return 0;
  },
};
