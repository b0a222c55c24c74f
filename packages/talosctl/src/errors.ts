/**
 * Errors as data. Every failure of a talosctl call is a `TalosctlError` with a stable `code`, a
 * message saying what went wrong, a hint saying what to do, the node and the command (argv with
 * nothing secret in it), and, like an execa result, the exit code and excerpts of the output.
 */

/** Every code this package throws, with what it means (the same table as docs/error-codes.md). */
export const TALOSCTL_ERROR_CODES = {
  TALOSCTL_NOT_FOUND: "The talosctl binary was not found (TALOSCTL, then PATH) or cannot be executed.",
  TALOSCTL_UNSUPPORTED_VERSION: "The talosctl client version is outside the supported range, or unreadable.",
  TALOSCTL_UNSUPPORTED_OPTION:
    "An option this client (or the node's Talos) cannot honour: it would be ignored.",
  TALOSCTL_INVALID_ARGUMENT: "A node, resource type, path or option value that cannot be passed to talosctl.",
  TALOSCTL_CONFIG_INVALID:
    "The talosconfig is missing, not a regular file, too large, malformed, or lacks the context.",
  TALOSCTL_USAGE: "talosctl rejected the command line (unknown flag or command).",
  TALOSCTL_NODE_UNREACHABLE: "The node (or the endpoint in front of it) did not answer.",
  TALOSCTL_NODE_UNKNOWN: "The node name does not resolve.",
  TALOSCTL_AUTH: "Authentication or authorization failed (certificates, RBAC role).",
  TALOSCTL_NOT_FOUND_RESOURCE: "The resource type, resource, service or file does not exist on the node.",
  TALOSCTL_NOT_CONTROL_PLANE: "The command needs a control-plane node and was given another one.",
  TALOSCTL_BUSY: "Another installation or upgrade is already running on the node.",
  TALOSCTL_TIMEOUT: "The call did not finish within its timeout (or talosctl reported a deadline).",
  TALOSCTL_ABORTED: "The call was cancelled (AbortSignal) or talosctl was interrupted (SIGINT/SIGTERM).",
  TALOSCTL_UPGRADE_FAILED: "The installer failed on the node; `installerOutput` holds what it printed.",
  TALOSCTL_DRAIN_FAILED: "Draining failed after the install: the node is armed (new version on next reboot).",
  TALOSCTL_REBOOT_TIMEOUT: "The node did not come back after a reboot within the tracking timeout.",
  TALOSCTL_ROLLBACK_FAILED: "The node could not roll back (no previous boot entry, or not supported).",
  TALOSCTL_UNHEALTHY: "The cluster health check did not pass within its wait timeout.",
  TALOSCTL_OUTPUT_INVALID:
    "talosctl printed output that is not in the documented format (truncated, not JSON).",
  TALOSCTL_OUTPUT_TOO_LARGE: "talosctl printed more than the call's output budget.",
  TALOSCTL_COMMAND_FAILED: "talosctl failed with an error this package does not classify further.",
} as const;

/** A stable error code; match on it, never on the message. */
export type TalosctlErrorCode = keyof typeof TALOSCTL_ERROR_CODES;

/** The fields of a `TalosctlError` (also its constructor's argument). */
export interface TalosctlErrorOptions {
  /** Stable code: match on it, never on the message. */
  code: TalosctlErrorCode;
  /** What went wrong, naming the node and the command. */
  message: string;
  /** What to do about it. */
  hint?: string;
  /** The underlying failure (execa's error, a parse error), kept for debugging. */
  cause?: unknown;
  /** The node the call was for (one node per call). */
  node?: string;
  /** The argv that ran, binary first; never holds secrets (talosctl takes none on its command line). */
  command?: string[];
  /** talosctl's exit code, when it ran and exited. */
  exitCode?: number;
  /** The signal that ended talosctl, when one did. */
  signal?: string;
  /** Whether the call's timeout ended it. */
  timedOut?: boolean;
  /** Whether the call's AbortSignal ended it. */
  isCanceled?: boolean;
  /** The end of stdout (at most 2 KiB, redacted); absent for commands whose output may be secret. */
  stdout?: string;
  /** The end of stderr (at most 4 KiB, redacted). */
  stderr?: string;
  /** For TALOSCTL_UPGRADE_FAILED: the installer's output as talosctl relayed it (redacted). */
  installerOutput?: string;
  /** For TALOSCTL_DRAIN_FAILED (and any upgrade error after the install): the new boot entry is installed. */
  armed?: boolean;
}

/** The one error class of this package. */
export class TalosctlError extends Error {
  override readonly name = "TalosctlError";
  /** Stable code: match on it, never on the message. */
  readonly code: TalosctlErrorCode;
  /** What to do about it. */
  readonly hint: string | undefined;
  /** The node the call was for. */
  readonly node: string | undefined;
  /** The argv that ran, binary first (it never holds secrets). */
  readonly command: string[] | undefined;
  /** talosctl's exit code, when it ran and exited. */
  readonly exitCode: number | undefined;
  /** The signal that ended talosctl, when one did. */
  readonly signal: string | undefined;
  /** Whether the call's timeout ended it. */
  readonly timedOut: boolean;
  /** Whether the call's AbortSignal ended it. */
  readonly isCanceled: boolean;
  /** The end of stdout (redacted); absent for commands whose output may be secret. */
  readonly stdout: string | undefined;
  /** The end of stderr (redacted). */
  readonly stderr: string | undefined;
  /** For TALOSCTL_UPGRADE_FAILED: the installer's output as talosctl relayed it (redacted). */
  readonly installerOutput: string | undefined;
  /** True when the new boot entry is already installed (the node is armed for the next reboot). */
  readonly armed: boolean | undefined;

  constructor(options: TalosctlErrorOptions) {
    super(options.message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = options.code;
    this.hint = options.hint;
    this.node = options.node;
    this.command = options.command;
    this.exitCode = options.exitCode;
    this.signal = options.signal;
    this.timedOut = options.timedOut ?? false;
    this.isCanceled = options.isCanceled ?? false;
    this.stdout = options.stdout;
    this.stderr = options.stderr;
    this.installerOutput = options.installerOutput;
    this.armed = options.armed;
  }

  /** A plain object for `--json` output and logs (no stack, no cause). */
  toJSON(): Record<string, unknown> {
    const out: Record<string, unknown> = { code: this.code, message: this.message };
    for (const key of [
      "hint",
      "node",
      "command",
      "exitCode",
      "signal",
      "stdout",
      "stderr",
      "installerOutput",
      "armed",
    ] as const) {
      if (this[key] !== undefined) out[key] = this[key];
    }
    if (this.timedOut) out.timedOut = true;
    if (this.isCanceled) out.isCanceled = true;
    return out;
  }
}

/** Whether `value` is a `TalosctlError` (optionally with this code). */
export function isTalosctlError(value: unknown, code?: TalosctlErrorCode): value is TalosctlError {
  return value instanceof TalosctlError && (code === undefined || value.code === code);
}

// PEM blocks and long base64 runs (talosconfig keys and certificates are base64 PEM) never leave
// this package, whatever talosctl or a node put in front of us.
const PEM = /-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(?:-----END [A-Z0-9 ]+-----|$)/g;
const BASE64_RUN = /[A-Za-z0-9+/]{64,}={0,2}/g;

/** Text with key material replaced by `[redacted]`. */
export function redact(text: string): string {
  return text.replace(PEM, "[redacted]").replace(BASE64_RUN, "[redacted]");
}

/** The last `max` characters of `text`, redacted, with a marker when cut. */
export function excerpt(text: string, max: number): string {
  const tail = text.length > max ? `…${text.slice(text.length - max)}` : text;
  return redact(tail);
}
