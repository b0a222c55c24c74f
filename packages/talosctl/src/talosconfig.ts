/**
 * The talosconfig is checked before talosctl sees it, for two reasons: talosctl silently creates
 * a missing file, and its own parse errors may quote the file. A talosconfig holds a client key,
 * so nothing from its contents ever appears in an error: only field paths and line numbers.
 */
import { open } from "node:fs/promises";
import { isMap, parseDocument } from "yaml";
import { TalosctlError } from "./errors.ts";

/** What this package reads from a talosconfig (never the keys). */
export interface TalosconfigSummary {
  /** The file that was read. */
  path: string;
  /** The context in effect: the `--context` option, else the file's `context`. */
  context: string;
  /** Every context name in the file. */
  contexts: string[];
  /** The context's `endpoints`. */
  endpoints: string[];
  /** The context's `nodes` (talosctl's default targets; this package always passes one node). */
  nodes: string[];
}

/** A talosconfig larger than this is refused (a real one is a few KiB). */
export const MAX_TALOSCONFIG_BYTES = 1024 * 1024;

function invalid(path: string, message: string, hint: string, cause?: unknown): TalosctlError {
  return new TalosctlError({
    code: "TALOSCTL_CONFIG_INVALID",
    message: `talosconfig ${path}: ${message}`,
    hint,
    cause,
  });
}

async function readBounded(path: string): Promise<string> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "r");
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw invalid(
      path,
      code === "ENOENT" ? "the file does not exist" : `cannot be opened (${code ?? "error"})`,
      "Pass the path of an existing talosconfig (talosctl would silently create an empty one).",
    );
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw invalid(path, "is not a regular file", "Point talosconfig at a regular file.");
    if (st.size > MAX_TALOSCONFIG_BYTES) {
      throw invalid(
        path,
        `is ${st.size} bytes, over the ${MAX_TALOSCONFIG_BYTES}-byte limit`,
        "Check the path.",
      );
    }
    const buf = Buffer.alloc(Math.min(st.size, MAX_TALOSCONFIG_BYTES) + 1);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    if (bytesRead > MAX_TALOSCONFIG_BYTES) {
      throw invalid(path, `is over the ${MAX_TALOSCONFIG_BYTES}-byte limit`, "Check the path.");
    }
    return buf.subarray(0, bytesRead).toString("utf8");
  } finally {
    await handle.close();
  }
}

function stringList(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) return undefined;
  return value as string[];
}

/**
 * Reads and checks a talosconfig: YAML with `context` and a `contexts` map whose entries carry
 * `endpoints`, `nodes`, `ca`, `crt`, `key` as talosctl expects. Throws TALOSCTL_CONFIG_INVALID
 * (with a field path or a line number, never file contents) when it is not one.
 */
export async function readTalosconfig(path: string, context?: string): Promise<TalosconfigSummary> {
  const text = await readBounded(path);
  // No aliases are expected in a talosconfig; refuse expansion bombs outright.
  const doc = parseDocument(text, { schema: "core", uniqueKeys: true, prettyErrors: false });
  const first = doc.errors[0];
  if (first) {
    const line = first.linePos?.[0];
    throw invalid(
      path,
      `is not valid YAML${line ? ` (line ${line.line}, column ${line.col})` : ""}: ${first.code}`,
      "Regenerate it (`talosctl gen config`, `talosctl config merge`) or fix the YAML at that position.",
    );
  }
  if (!isMap(doc.contents)) {
    throw invalid(
      path,
      "is not a YAML mapping with `context` and `contexts`",
      "Check that the path is a talosconfig.",
    );
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 0 });
  } catch (cause) {
    throw invalid(path, "cannot be read as data", "Check that the path is a talosconfig.", cause);
  }
  const root = data as Record<string, unknown>;
  const contexts = root.contexts;
  if (typeof contexts !== "object" || contexts === null || Array.isArray(contexts)) {
    throw invalid(path, "has no `contexts` mapping", "Check that the path is a talosconfig.");
  }
  const current = context ?? root.context;
  if (root.context !== undefined && root.context !== null && typeof root.context !== "string") {
    throw invalid(path, "`context` is not a string", "Set `context` to one of the context names.");
  }
  const names = Object.keys(contexts);
  if (typeof current !== "string" || current === "") {
    throw invalid(path, "names no current context", "Pass `context`, or set `context` in the file.");
  }
  const entry = (contexts as Record<string, unknown>)[current];
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
    throw invalid(
      path,
      `has no context ${JSON.stringify(current)} (contexts: ${names.map((n) => JSON.stringify(n)).join(", ") || "none"})`,
      "Pass one of the listed context names.",
    );
  }
  const ctx = entry as Record<string, unknown>;
  const endpoints = stringList(ctx.endpoints);
  const nodes = stringList(ctx.nodes);
  if (!endpoints)
    throw invalid(path, `contexts.${current}.endpoints is not a list of strings`, "Fix the field.");
  if (!nodes) throw invalid(path, `contexts.${current}.nodes is not a list of strings`, "Fix the field.");
  for (const field of ["ca", "crt", "key"] as const) {
    const v = ctx[field];
    if (v !== undefined && v !== null && typeof v !== "string") {
      throw invalid(path, `contexts.${current}.${field} is not a string`, "Regenerate the talosconfig.");
    }
  }
  // Nothing read here is kept beyond names, endpoints and nodes: the keys stay in the file.
  return { path, context: current, contexts: names, endpoints, nodes };
}
