/**
 * One talosctl process per call, through execa: a timeout and an AbortSignal on every call,
 * stdout streamed to a consumer (or collected within a budget), stderr kept as a bounded tail,
 * and every failure turned into a `TalosctlError` naming the node and the command.
 */
import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import { delimiter, isAbsolute, join } from "node:path";
import { execa } from "execa";
import { type CommandKind, classifyStderr, errorDetail } from "./classify.ts";
import { excerpt, TalosctlError } from "./errors.ts";

const STDERR_TAIL_CHARS = 64 * 1024;

/** Finds the binary: an explicit path, else `$TALOSCTL`, else `talosctl` on `$PATH`. */
export async function locateTalosctl(explicit: string | undefined, env: NodeJS.ProcessEnv): Promise<string> {
  const given = explicit ?? (env.TALOSCTL ? env.TALOSCTL : undefined);
  const candidates: string[] = [];
  if (given !== undefined) {
    if (given.includes("/")) candidates.push(given);
    else for (const dir of (env.PATH ?? "").split(delimiter)) if (dir) candidates.push(join(dir, given));
  } else {
    for (const dir of (env.PATH ?? "").split(delimiter))
      if (dir && isAbsolute(dir)) candidates.push(join(dir, "talosctl"));
  }
  for (const file of candidates) {
    try {
      const st = await stat(file);
      if (!st.isFile()) continue;
      await access(file, constants.X_OK);
      return file;
    } catch {
      // next candidate
    }
  }
  const where =
    given !== undefined
      ? `${explicit !== undefined ? "the binary option" : "TALOSCTL"} names ${JSON.stringify(given)}, which is not an executable file`
      : "no executable `talosctl` on PATH";
  throw new TalosctlError({
    code: "TALOSCTL_NOT_FOUND",
    message: `talosctl not found: ${where}`,
    hint: "Install talosctl (a release matching your cluster, 1.12 to 1.14) or set TALOSCTL to its path.",
  });
}

/** One call of the binary. */
export interface RunSpec {
  binary: string;
  /** Full argv after the binary (globals included). */
  argv: string[];
  /** Extra environment for the child (merged over process.env). */
  env?: NodeJS.ProcessEnv;
  node?: string;
  kind: CommandKind;
  /** Short description for messages, e.g. `get extensions`. */
  what: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Streamed stdout; a throw stops the call and becomes the call's error. */
  onStdout?: (chunk: string) => void;
  /** Budget for stdout when it is collected (no `onStdout`). */
  maxOutputBytes: number;
  /** Never copy stdout into an error (file contents, secrets resources). */
  secretOutput?: boolean;
  /** Turns the consumer's exception into our error. */
  consumerError?: (e: unknown) => TalosctlError;
}

/** What a successful call printed. */
export interface RunOutput {
  /** Empty when streamed to `onStdout`. */
  stdout: string;
  stderr: string;
  command: string[];
}

/** Runs the call; resolves on exit 0, throws a `TalosctlError` otherwise. */
export async function runTalosctl(spec: RunSpec): Promise<RunOutput> {
  const command = [spec.binary, ...spec.argv];
  const internal = new AbortController();
  const cancelSignal = spec.signal ? AbortSignal.any([spec.signal, internal.signal]) : internal.signal;
  const base = { node: spec.node, command };
  const on = spec.node ? ` on node ${spec.node}` : "";

  if (spec.signal?.aborted) {
    throw new TalosctlError({
      ...base,
      code: "TALOSCTL_ABORTED",
      message: `talosctl ${spec.what}${on} was cancelled before it started`,
      hint: "The caller's AbortSignal was already aborted.",
      isCanceled: true,
    });
  }

  const sub = execa(spec.binary, spec.argv, {
    env: spec.env,
    stdin: "ignore",
    buffer: false,
    reject: false,
    timeout: spec.timeoutMs,
    cancelSignal,
    forceKillAfterDelay: 2000,
    stripFinalNewline: false,
  });

  let stdout = "";
  let stdoutBytes = 0;
  let stderr = "";
  let stopped: TalosctlError | undefined;
  const stop = (e: TalosctlError) => {
    if (!stopped) {
      stopped = e;
      internal.abort();
    }
  };
  sub.stdout?.setEncoding("utf8");
  sub.stderr?.setEncoding("utf8");
  sub.stdout?.on("data", (chunk: string) => {
    if (stopped) return;
    stdoutBytes += Buffer.byteLength(chunk);
    if (stdoutBytes > spec.maxOutputBytes) {
      stop(
        new TalosctlError({
          ...base,
          code: "TALOSCTL_OUTPUT_TOO_LARGE",
          message: `talosctl ${spec.what}${on} printed more than ${spec.maxOutputBytes} bytes`,
          hint: "Raise maxOutputBytes, or ask for less (an id, a --tail).",
        }),
      );
      return;
    }
    if (spec.onStdout) {
      try {
        spec.onStdout(chunk);
      } catch (e) {
        stop(
          spec.consumerError?.(e) ??
            new TalosctlError({
              ...base,
              code: "TALOSCTL_OUTPUT_INVALID",
              message: `talosctl ${spec.what}${on}: ${(e as Error).message}`,
              cause: e,
            }),
        );
      }
    } else stdout += chunk;
  });
  sub.stderr?.on("data", (chunk: string) => {
    stderr += chunk;
    if (stderr.length > STDERR_TAIL_CHARS * 2) stderr = stderr.slice(stderr.length - STDERR_TAIL_CHARS);
  });

  const result = await sub;
  if (stopped) throw stopped;
  const outputs = {
    ...base,
    exitCode: result.exitCode,
    signal: result.signal,
    stderr: stderr ? excerpt(stderr, 4096) : undefined,
    stdout: !spec.secretOutput && stdout ? excerpt(stdout, 2048) : undefined,
  };

  if (result.isCanceled || (spec.signal?.aborted ?? false)) {
    throw new TalosctlError({
      ...outputs,
      code: "TALOSCTL_ABORTED",
      message: `talosctl ${spec.what}${on} was cancelled`,
      hint: "The caller's AbortSignal fired; talosctl was stopped.",
      isCanceled: true,
    });
  }
  if (result.timedOut) {
    throw new TalosctlError({
      ...outputs,
      code: "TALOSCTL_TIMEOUT",
      message: `talosctl ${spec.what}${on} did not finish within ${spec.timeoutMs} ms`,
      hint: "Raise timeoutMs, or check why the node is slow.",
      timedOut: true,
    });
  }
  if (result.exitCode === undefined && result.signal) {
    throw new TalosctlError({
      ...outputs,
      code: "TALOSCTL_ABORTED",
      message: `talosctl ${spec.what}${on} was interrupted by ${result.signal}`,
      hint: "Something sent talosctl a signal (Ctrl-C, a supervisor); run the call again.",
    });
  }
  if (result.exitCode === undefined) {
    const errno = (result as { code?: string }).code;
    throw new TalosctlError({
      ...outputs,
      code: "TALOSCTL_NOT_FOUND",
      message: `talosctl ${spec.what}${on}: ${spec.binary} could not be started${errno ? ` (${errno})` : ""}`,
      hint: "Check that the talosctl binary exists and is executable.",
      cause: result.cause,
    });
  }
  if (result.exitCode !== 0) {
    const detail = excerpt(errorDetail(stderr), 600);
    const known = classifyStderr(stderr, spec.kind);
    throw new TalosctlError({
      ...outputs,
      code: known?.code ?? "TALOSCTL_COMMAND_FAILED",
      message: `talosctl ${spec.what}${on} failed (exit ${result.exitCode})${detail ? `: ${detail}` : ""}`,
      hint: known?.hint ?? "Read stderr; run the command by hand to see more.",
    });
  }
  return { stdout, stderr, command };
}
