/**
 * Runs the imager on an installer profile, through docker (`ghcr.io/siderolabs/imager:<v>`,
 * rootless from Talos 1.13, `--privileged` before) or a local `imager` binary, with the profile
 * on stdin (`imager -`). The profile is validated strictly first, extension constraints are
 * checked before anything runs, and the output `installer-<arch>[-secureboot].tar` is found and
 * checked to be a docker-archive of one image.
 */
import { mkdir, stat } from "node:fs/promises";
import { basename, resolve } from "node:path";
import { TalosExtError } from "@talos-ext/spec";
import { execa } from "execa";
import { installerError } from "../codes.ts";
import { checkCompatible, type ExtensionSetEntry } from "../extensions/model.ts";
import { openImageSource } from "../inspect/sources.ts";
import {
  type ImagerProfile,
  imagerImage,
  installerOutputName,
  talosMinor,
  validateImagerProfile,
} from "./profile.ts";

/** The imager's exit code classes (Talos >= 1.14.0-alpha.2, `pkg/installer/exitcode`). */
export const IMAGER_EXIT_CLASSES: Readonly<Record<number, string>> = {
  0: "ok",
  1: "unknown",
  2: "invalid input",
  3: "unsupported",
  4: "environment",
  5: "dependency",
  6: "I/O",
  7: "install",
};

/** Whether the imager of `version` has distinct exit codes (from v1.14.0-alpha.2). */
export function hasExitCodes(version: string): boolean {
  const t = talosMinor(version);
  if (t.major > 1 || t.minor > 14) return true;
  if (t.minor < 14) return false;
  const pre = /-alpha\.(\d+)/.exec(version);
  return !(pre && Number(pre[1]) < 2) && !/-alpha$/.test(version);
}

/** The class of an imager exit code for the imager of `version`. */
export function imagerExitClass(version: string, exitCode: number): string {
  if (exitCode === 0) return "ok";
  if (!hasExitCodes(version)) return "unknown";
  return IMAGER_EXIT_CLASSES[exitCode] ?? "unknown";
}

/** Options of {@link runImager}. */
export interface RunImagerOptions {
  /** The profile (validated again here). */
  profile: ImagerProfile;
  /** Output directory (created); the installer tar lands here. */
  outDir: string;
  /** A local imager binary (or the test double); default: run the imager container through docker. */
  imagerBinary?: string;
  /** docker CLI; default `docker`. */
  docker?: string;
  /** Imager image; default `ghcr.io/siderolabs/imager:<profile version>`. */
  image?: string;
  /** docker: config directory mounted for the imager's registry auth. */
  dockerConfigDir?: string;
  /** docker: variables passed into the container by name. */
  passEnv?: readonly string[];
  /** docker: `--network`. */
  network?: string;
  /** Set entries of the profile's extensions: their constraints are checked before running. */
  entries?: readonly ExtensionSetEntry[];
  /** Extra environment (registry auth: DOCKER_CONFIG, GITHUB_TOKEN). */
  env?: Record<string, string>;
  /** Kills the imager after this long; default 30 minutes. */
  timeoutMs?: number;
  /** Cancels the run. */
  signal?: AbortSignal;
}

/** What a run produced. */
export interface ImagerRun {
  /** The installer docker-archive. */
  output: string;
  /** The argv that ran (binary first). */
  command: string[];
  /** The imager's stderr (its log), last 8 KiB. */
  log: string;
}

/**
 * The command that runs the imager in docker, with the profile rewritten to container paths:
 * the output directory is `/out`, every `tarballPath`/`ociPath` is mounted read-only under `/in`.
 */
export function dockerImagerCommand(options: {
  /** The profile, with host paths; it is not changed (the returned one is a rewritten copy). */
  profile: ImagerProfile;
  /** Host directory mounted at /out, where the imager writes the installer. */
  outDir: string;
  /** docker CLI; default `docker`. */
  docker?: string;
  /** Imager image; default `ghcr.io/siderolabs/imager:<profile version>`. */
  image?: string;
  /** Docker config directory mounted read-only at /root/.docker (the imager's registry auth). */
  dockerConfigDir?: string;
  /** Environment variables passed into the container by name (`GITHUB_TOKEN`). */
  passEnv?: readonly string[];
  /** `--network` (e.g. `host`, to reach a registry on the host's 127.0.0.1). */
  network?: string;
}): {
  /** The `docker run` command line (binary first); the imager reads the profile on stdin. */
  argv: string[];
  /** The profile to send on stdin: extension paths rewritten to their mounts under /in. */
  profile: ImagerProfile;
} {
  const p = structuredClone(options.profile);
  const mounts: string[] = ["-v", `${resolve(options.outDir)}:/out`];
  (p.input.systemExtensions ?? []).forEach((ext, i) => {
    if (ext.tarballPath) {
      mounts.push("-v", `${resolve(ext.tarballPath)}:/in/ext-${i}.tar:ro`);
      ext.tarballPath = `/in/ext-${i}.tar`;
    }
    if (ext.ociPath) {
      mounts.push("-v", `${resolve(ext.ociPath)}:/in/ext-${i}:ro`);
      ext.ociPath = `/in/ext-${i}`;
    }
  });
  const t = talosMinor(p.version);
  // Rootless from 1.13; before, the imager expects a privileged container with /dev.
  const privileged = t.major === 1 && t.minor < 13 ? ["--privileged", "-v", "/dev:/dev"] : [];
  return {
    argv: [
      options.docker ?? "docker",
      "run",
      "--rm",
      "-i",
      ...privileged,
      ...mounts,
      options.image ?? imagerImage(p.version),
      "-",
    ],
    profile: p,
  };
}

const tail = (s: string, n = 8192) => (s.length > n ? s.slice(-n) : s);

/** Runs the imager and returns the checked installer tar. */
export async function runImager(options: RunImagerOptions): Promise<ImagerRun> {
  const profile = validateImagerProfile(options.profile);
  if (profile.output.kind !== "installer") {
    throw installerError(
      "IMAGER_PROFILE_INVALID",
      `output kind ${profile.output.kind} is not installer`,
      "use installerProfile()",
    );
  }
  if ((profile.customization?.metaContents ?? []).length > 0) {
    throw installerError(
      "IMAGER_PROFILE_INVALID",
      "META contents are not supported for installer output",
      "drop metaContents (write META with talosctl meta instead)",
    );
  }
  for (const e of options.entries ?? []) checkCompatible(e, profile.version);
  const outDir = resolve(options.outDir);
  await mkdir(outDir, { recursive: true });
  let argv: string[];
  let stdin: ImagerProfile;
  if (options.imagerBinary) {
    argv = [options.imagerBinary, "-", "--output", outDir];
    stdin = profile;
  } else {
    const d = dockerImagerCommand({
      profile,
      outDir,
      ...(options.docker ? { docker: options.docker } : {}),
      ...(options.image ? { image: options.image } : {}),
      ...(options.dockerConfigDir ? { dockerConfigDir: options.dockerConfigDir } : {}),
      ...(options.passEnv ? { passEnv: options.passEnv } : {}),
      ...(options.network ? { network: options.network } : {}),
    });
    argv = d.argv;
    stdin = d.profile;
  }
  // JSON is YAML: the imager's YAML decoder reads it as is.
  const input = JSON.stringify(stdin);
  const [file, ...args] = argv as [string, ...string[]];
  const result = await execa(file, args, {
    input,
    reject: false,
    all: false,
    timeout: options.timeoutMs ?? 30 * 60_000,
    ...(options.signal ? { cancelSignal: options.signal } : {}),
    env: options.env ?? {},
    extendEnv: true,
    stripFinalNewline: false,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.failed && (result.exitCode === undefined || (result as { code?: string }).code === "ENOENT")) {
    if ((result as { code?: string }).code === "ENOENT" || /ENOENT/.test(String(result.message))) {
      throw installerError(
        "IMAGER_NOT_FOUND",
        `cannot run ${basename(file)}: not found`,
        options.imagerBinary ? "check the imagerBinary path" : "install docker, or pass imagerBinary",
      );
    }
    throw installerError(
      "IMAGER_FAILED",
      `${basename(file)} did not finish: ${result.shortMessage ?? result.message}`,
      "see the imager log",
      {
        cause: result,
      },
    );
  }
  const log = tail(String(result.stderr ?? ""));
  if (result.exitCode !== 0) {
    const cls = imagerExitClass(profile.version, result.exitCode ?? 1);
    const err = installerError(
      "IMAGER_FAILED",
      `the imager exited with ${result.exitCode} (${cls}): ${tail(log.trim(), 1500)}`,
      cls === "invalid input" || cls === "unsupported"
        ? "fix the profile or the extensions"
        : cls === "dependency"
          ? "an image could not be pulled or a tool failed; check registry access"
          : "read the imager log in the message",
    );
    throw Object.assign(err, { exitCode: result.exitCode, exitClass: cls, log });
  }
  const output = resolve(outDir, installerOutputName(profile));
  const st = await stat(output).catch(() => undefined);
  if (!st?.isFile()) {
    throw installerError(
      "IMAGER_OUTPUT_MISSING",
      `the imager succeeded but ${installerOutputName(profile)} is not in ${outDir}`,
      "check the imager version and the output directory",
    );
  }
  try {
    const src = await openImageSource(output);
    if (src.kind !== "docker-archive") throw new Error(`it is an ${src.kind}`);
  } catch (e) {
    throw installerError(
      "IMAGER_OUTPUT_MISSING",
      `${output} is not a docker-archive of one image: ${(e as Error).message}`,
      "check the imager version",
      e instanceof TalosExtError ? { cause: e } : {},
    );
  }
  return { output, command: argv, log };
}
