/**
 * Finds, reads and validates `talos-ext.yaml`, then applies environment and flag overrides
 * (file < env < flags). Every finding names its key and, for values from the file, its
 * `file:line:col`; values from env or flags name their origin instead. Relative paths are
 * resolved against the file's directory (or the working directory for env and flags).
 */
import { lstat } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import {
  type DecodedYaml,
  type Diagnostic,
  decodeYamlBytes,
  diagnostic,
  didYouMean,
  RegularFileError,
  readRegularFile,
  TalosExtError,
} from "@talos-ext/spec";
import type { z } from "zod";
import type { ConfigErrorCode } from "./codes.ts";
import { type ConfigFile, configSchema } from "./schema.ts";

/** The workspace file's name, looked for in the working directory and its parents. */
export const CONFIG_FILE_NAME = "talos-ext.yaml";
/** A workspace file is a few KiB; anything larger is refused before it is parsed. */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** One value set from outside the file: a flag or an environment variable. */
export interface ConfigOverride {
  /** Dotted key, e.g. `talos.version`, `cluster.nodes.worker`. */
  key: string;
  /** The value, already in the file's type (a list for list keys). */
  value: unknown;
  /** Where it came from, for messages, e.g. `--talos-version` or `env TALOS_EXT_REGISTRY`. */
  origin: string;
}

/** Options of `loadConfig`. */
export interface LoadConfigOptions {
  /** Where the search for `talos-ext.yaml` starts, and what env/flag paths are relative to. */
  cwd?: string;
  /** An explicit file (`--config`); it must exist. */
  file?: string;
  /** Environment for the documented variables (default `process.env`); `{}` ignores them. */
  env?: Record<string, string | undefined>;
  /** Flag values; they win over the file and the environment. */
  overrides?: ConfigOverride[];
  /** With no file found, validate env and flags alone instead of failing (default false). */
  allowMissing?: boolean;
}

/** A loaded configuration. */
export interface LoadedConfig {
  /** The file read, if any. */
  file?: string;
  /** The validated configuration; every path key is absolute. */
  config: ConfigFile;
  /** For each dotted key set from outside the file, where it came from. */
  origins: Record<string, string>;
}

/** Environment variables and the keys they set (documented in the package README). */
export const CONFIG_ENV: Readonly<
  Record<
    string,
    {
      /** The dotted configuration key the variable sets (`registry.repository`). */
      key: string;
      /** The value is a comma-separated list (items trimmed, empty ones dropped); default: one string. */
      list?: boolean;
    }
  >
> = {
  TALOS_EXT_TALOS_VERSION: { key: "talos.version" },
  TALOS_EXT_PLATFORMS: { key: "platforms", list: true },
  TALOS_EXT_REGISTRY: { key: "registry.repository" },
  TALOS_EXT_CACHE_DIR: { key: "cache.sources" },
  TALOSCONFIG: { key: "cluster.talosconfig" },
};

/** Keys whose values are paths, resolved against where they were written. */
const PATH_KEYS = [
  "tree.root",
  "registry.caFile",
  "cache.sources",
  "cluster.talosconfig",
  "installer.imager.binary",
];
const SECRET_KEY = /pass(word)?|secret|token|auth|credential_?value|api_?key/i;

function fail(code: ConfigErrorCode, message: string, hint: string, extra: object = {}): TalosExtError {
  return new TalosExtError({ code, message, hint, ...extra });
}

/** The nearest `talos-ext.yaml` at or above `cwd`, or undefined. */
export async function findConfigFile(cwd: string): Promise<string | undefined> {
  let dir = resolve(cwd);
  for (;;) {
    const candidate = join(dir, CONFIG_FILE_NAME);
    // Anything by that name counts as found: reading it then says what is wrong with it.
    if (
      await lstat(candidate).then(
        () => true,
        () => false,
      )
    )
      return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

async function readDocument(file: string): Promise<DecodedYaml> {
  let bytes: Uint8Array;
  try {
    bytes = await readRegularFile(file, MAX_CONFIG_BYTES, { followSymlinks: true });
  } catch (e) {
    if (e instanceof RegularFileError && e.problem === "missing") {
      throw fail(
        "CONFIG_NOT_FOUND",
        `${file} does not exist`,
        `create it (talos-ext init) or pass another --config`,
        {
          location: { file },
        },
      );
    }
    const why = e instanceof RegularFileError ? e.message : String(e);
    throw fail(
      "CONFIG_UNREADABLE",
      `cannot read ${file}: ${why}`,
      "the configuration is a regular YAML file of at most 1 MiB",
      {
        location: { file },
        cause: e,
      },
    );
  }
  return decodeYamlBytes(bytes, { file });
}

function getAt(value: unknown, path: readonly string[]): unknown {
  let v = value;
  for (const p of path) {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

function setAt(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let v = target;
  for (const p of path.slice(0, -1)) {
    const next = v[p];
    if (next === null || typeof next !== "object" || Array.isArray(next)) v[p] = {};
    v = v[p] as Record<string, unknown>;
  }
  v[path[path.length - 1]!] = value;
}

function expandHome(p: string): string {
  return p === "~" ? homedir() : p.startsWith("~/") ? join(homedir(), p.slice(2)) : p;
}

/** The overrides the documented environment variables make. */
export function envOverrides(env: Record<string, string | undefined>): ConfigOverride[] {
  const out: ConfigOverride[] = [];
  for (const [name, { key, list }] of Object.entries(CONFIG_ENV)) {
    const raw = env[name];
    if (raw === undefined || raw === "") continue;
    const value = list
      ? raw
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean)
      : raw;
    out.push({ key, value, origin: `env ${name}` });
  }
  return out;
}

/**
 * The decoder keeps every scalar as text (as Go decodes into strings); this file is typed data,
 * so unquoted `true`/`false` and integers become booleans and numbers (YAML 1.2 core schema).
 * A quoted `"2"` stays a string, and the schema then says so at its position.
 */
function typedScalars(value: unknown, doc: DecodedYaml, path: (string | number)[]): unknown {
  if (Array.isArray(value)) return value.map((v, i) => typedScalars(v, doc, [...path, i]));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = typedScalars(v, doc, [...path, k]);
    return out;
  }
  if (typeof value !== "string" || doc.isQuoted(path)) return value;
  if (/^(?:true|True|TRUE)$/.test(value)) return true;
  if (/^(?:false|False|FALSE)$/.test(value)) return false;
  if (/^[-+]?\d{1,15}$/.test(value)) return Number(value);
  return value;
}

/** Whose is the value at `path`: an override's origin, or undefined for the file. */
function originOf(origins: Record<string, string>, path: readonly (string | number)[]): string | undefined {
  for (let n = path.length; n > 0; n--) {
    const o = origins[path.slice(0, n).join(".")];
    if (o) return o;
  }
  return undefined;
}

function describeIssue(
  issue: z.core.$ZodIssue,
  doc: DecodedYaml | undefined,
  origins: Record<string, string>,
  file: string | undefined,
): Diagnostic[] {
  const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
  const key = path.join(".") || "(top level)";
  const origin = originOf(origins, path);
  const where = (p: (string | number)[], which: "key" | "value" = "value") =>
    origin === undefined && doc ? doc.locate(p, which) : file && origin === undefined ? { file } : undefined;
  const from = origin ? ` (from ${origin})` : "";
  if (issue.code === "unrecognized_keys") {
    const known = knownKeys(path);
    return issue.keys.map((k) => {
      const at = [...path, k];
      if (SECRET_KEY.test(k)) {
        return diagnostic(
          "CONFIG_INLINE_SECRET",
          "error",
          `"${at.join(".")}" looks like a secret; secrets never live in ${CONFIG_FILE_NAME}`,
          {
            hint: "log in with `docker login` (credentials go to ~/.docker/config.json or a credential helper) and set registry.credentials: docker-config",
            location: where(at, "key"),
          },
        );
      }
      const guess = didYouMean(k, known);
      return diagnostic("CONFIG_UNKNOWN_KEY", "error", `unknown key "${at.join(".")}"${from}`, {
        hint: guess
          ? `did you mean "${[...path, guess].join(".")}"?`
          : `known keys here: ${known.join(", ")}`,
        location: where(at, "key"),
      });
    });
  }
  const missing =
    issue.code === "invalid_type" && getAt(doc?.value, path.map(String)) === undefined && !origin;
  if (missing) {
    return [
      diagnostic("CONFIG_MISSING_KEY", "error", `"${key}" is required`, {
        hint: `add ${key} to ${CONFIG_FILE_NAME}${key === "talos.version" ? " (or pass --talos-version / TALOS_EXT_TALOS_VERSION)" : ""}`,
        location: where(path),
      }),
    ];
  }
  return [
    diagnostic("CONFIG_INVALID_VALUE", "error", `"${key}"${from}: ${issue.message}`, {
      hint: hintFor(path),
      location: where(path),
    }),
  ];
}

/** The keys the schema allows in the mapping at `path`. */
function knownKeys(path: readonly (string | number)[]): string[] {
  let s: z.ZodType = configSchema;
  for (const p of path) {
    const shape = shapeOf(s);
    if (!shape || typeof p !== "string" || !shape[p]) return [];
    s = shape[p];
  }
  return Object.keys(shapeOf(s) ?? {});
}

function shapeOf(s: z.ZodType): Record<string, z.ZodType> | undefined {
  let t = s as unknown as { def: { type: string; innerType?: z.ZodType; shape?: Record<string, z.ZodType> } };
  while (t.def.type === "optional" && t.def.innerType) t = t.def.innerType as unknown as typeof t;
  return t.def.type === "object" ? t.def.shape : undefined;
}

function hintFor(path: readonly (string | number)[]): string {
  let s: z.ZodType = configSchema;
  for (const p of path) {
    const shape = shapeOf(s);
    if (!shape || typeof p !== "string" || !shape[p]) break;
    s = shape[p];
  }
  return s.description ? `${path.join(".")}: ${s.description}` : "see schemas/talos-ext.schema.json";
}

/**
 * Loads the workspace configuration: the file (found upward from `cwd`, or `file`), then the
 * environment, then flags. Throws `CONFIG_INVALID` listing every finding at once.
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const cwd = resolve(options.cwd ?? process.cwd());
  const file = options.file ? resolve(cwd, expandHome(options.file)) : await findConfigFile(cwd);
  if (!file && !options.allowMissing) {
    throw fail(
      "CONFIG_NOT_FOUND",
      `no ${CONFIG_FILE_NAME} in ${cwd} or any parent directory`,
      `create one (see docs/configuration.md) or pass --config FILE`,
    );
  }
  const doc = file ? await readDocument(file) : undefined;
  const base = doc ? typedScalars(doc.value, doc, []) : {};
  if (base === null || typeof base !== "object" || Array.isArray(base)) {
    throw fail(
      "CONFIG_INVALID",
      `${file}: the top level must be a mapping`,
      "start from the example in docs/configuration.md",
      {
        location: doc?.locate([]),
      },
    );
  }
  const merged = structuredClone(base) as Record<string, unknown>;
  const origins: Record<string, string> = {};
  for (const o of [...envOverrides(options.env ?? process.env), ...(options.overrides ?? [])]) {
    const path = o.key.split(".");
    if (path.some((p) => p === "") || knownKeys(path.slice(0, -1)).indexOf(path[path.length - 1]!) < 0) {
      throw fail(
        "CONFIG_BAD_OVERRIDE",
        `${o.origin} sets unknown key "${o.key}"`,
        "see schemas/talos-ext.schema.json for the keys",
      );
    }
    setAt(merged, path, o.value);
    origins[o.key] = o.origin;
  }
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const diagnostics = parsed.error.issues.flatMap((i) => describeIssue(i, doc, origins, file));
    diagnostics.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
    const first = diagnostics[0]!;
    throw new TalosExtError({
      code: "CONFIG_INVALID",
      message: `${file ?? "the configuration"} has ${diagnostics.length} problem(s); first: ${first.message}`,
      hint: first.hint ?? "fix the listed keys",
      ...(first.file
        ? {
            location: {
              file: first.file,
              ...(first.line ? { line: first.line, column: first.column ?? 1 } : {}),
            },
          }
        : {}),
      diagnostics,
    });
  }
  const config = parsed.data;
  // Paths are relative to where they were written: the file's directory, or the working directory.
  for (const key of PATH_KEYS) {
    const path = key.split(".");
    const value = getAt(config, path);
    if (typeof value !== "string") continue;
    const from = origins[key] === undefined && file ? dirname(file) : cwd;
    const expanded = expandHome(value);
    setAt(config as Record<string, unknown>, path, isAbsolute(expanded) ? expanded : resolve(from, expanded));
  }
  return { ...(file ? { file } : {}), config, origins };
}
