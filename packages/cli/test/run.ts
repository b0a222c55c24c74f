/** Test support: run the built `talos-ext` binary as a user would. */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
export const EXTENSIONS = fileURLToPath(new URL("../../../extensions", import.meta.url));

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  json: () => any;
}

export function talosExt(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
): RunResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? process.cwd(),
    env: { ...process.env, ...(options.env ?? {}) },
    encoding: "utf8",
    input: options.input ?? "",
    maxBuffer: 64 << 20,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json: () => JSON.parse(r.stdout) };
}

/** A user error must never show a JavaScript stack trace. */
export function expectNoStack(text: string): void {
  if (/\n\s+at .+\(.+:\d+:\d+\)/.test(text) || text.includes("internal error")) {
    throw new Error(`unexpected stack trace in output:\n${text}`);
  }
}
