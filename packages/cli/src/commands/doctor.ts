import { constants } from "node:fs";
import { access, mkdir, readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { loadConfig } from "@talos-ext/config";
import { defaultCacheDir, defaultDockerConfigPath, detectEngine } from "@talos-ext/image";
import { isTalosExtError } from "@talos-ext/spec";
import { createTalosctl, isTalosctlError } from "@talos-ext/talosctl";
import { execa } from "execa";
import type { Command } from "../command.ts";
import { printJson } from "../report.ts";

/** One finding of `doctor`. */
export interface DoctorCheck {
  /** What was checked: node, engine, talosctl, talosconfig, registry-auth, source-cache, config. */
  check: string;
  /** `fail` breaks a step of the main path; `warn` limits it; `ok` is fine. */
  status: "ok" | "warn" | "fail";
  /** What was found. */
  detail: string;
  /** How to fix it (for warn and fail). */
  fix?: string;
  /** The error code behind a warn or fail, when there is one. */
  code?: string;
}

type Env = Record<string, string | undefined>;
const ok = (check: string, detail: string): DoctorCheck => ({ check, status: "ok", detail });
const bad = (
  status: "warn" | "fail",
  check: string,
  detail: string,
  fix: string,
  code?: string,
): DoctorCheck => ({
  check,
  status,
  detail,
  fix,
  ...(code ? { code } : {}),
});

function nodeCheck(): DoctorCheck {
  const major = Number(process.versions.node.split(".")[0]);
  return major >= 24
    ? ok("node", `Node ${process.versions.node}`)
    : bad(
        "fail",
        "node",
        `Node ${process.versions.node}; talos-ext needs 24 or newer`,
        "run tools/bootstrap (installs Node 24)",
      );
}

async function engineCheck(env: Env): Promise<DoctorCheck> {
  let engine: ReturnType<typeof detectEngine>;
  try {
    engine = detectEngine("auto", env);
  } catch (e) {
    if (!isTalosExtError(e)) throw e;
    return bad(
      "warn",
      "engine",
      e.message,
      `${e.hint ?? ""} (packages without RUN steps build without one)`,
      e.code,
    );
  }
  if (engine.kind === "buildctl") return ok("engine", engine.description);
  // `docker buildx version` answers without a daemon: ask the engine itself.
  const r = await execa(engine.cli, ["version", "--format", "{{.Server.Version}}"], {
    env,
    extendEnv: false,
    reject: false,
    timeout: 10_000,
  });
  if (r.exitCode !== 0 || !String(r.stdout).trim()) {
    const why = String(r.stderr).split("\n").find(Boolean) ?? `exit ${r.exitCode}`;
    return bad(
      "warn",
      "engine",
      `${engine.description}, but the docker engine does not answer: ${why}`,
      "start dockerd (or set DOCKER_HOST to a running engine); packages without RUN steps build without one",
    );
  }
  return ok("engine", `${engine.description}, engine ${String(r.stdout).trim()}`);
}

async function talosctlCheck(env: Env, talosconfig: string | undefined): Promise<DoctorCheck[]> {
  try {
    const client = await createTalosctl({ env, ...(talosconfig ? { talosconfig } : {}) });
    const out = [ok("talosctl", `${client.binary} ${client.clientVersion.tag}`)];
    const tc = client.talosconfig;
    out.push(
      tc
        ? ok("talosconfig", `${tc.path}: context ${tc.context}, ${tc.endpoints.length} endpoint(s)`)
        : bad(
            "warn",
            "talosconfig",
            "no talosconfig found",
            "set cluster.talosconfig in talos-ext.yaml or TALOSCONFIG",
          ),
    );
    return out;
  } catch (e) {
    if (!isTalosctlError(e)) throw e;
    const check = e.code === "TALOSCTL_CONFIG_INVALID" ? "talosconfig" : "talosctl";
    // Only deploy needs talosctl: a missing one limits, a broken one fails.
    const status = e.code === "TALOSCTL_NOT_FOUND" ? "warn" : "fail";
    return [bad(status, check, e.message, e.hint ?? "see docs/troubleshooting.md", e.code)];
  }
}

async function registryCheck(env: Env, repository: string | undefined): Promise<DoctorCheck> {
  const file = defaultDockerConfigPath(env);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    return bad(
      "warn",
      "registry-auth",
      `no ${file}`,
      "run `docker login <registry>` for registries that need credentials",
    );
  }
  let json: { auths?: Record<string, unknown>; credsStore?: string; credHelpers?: Record<string, string> };
  try {
    json = JSON.parse(text);
  } catch {
    return bad(
      "fail",
      "registry-auth",
      `${file} is not valid JSON`,
      "fix or remove it, then `docker login` again",
      "REGISTRY_CONFIG",
    );
  }
  const helpers = [
    ...new Set([json.credsStore, ...Object.values(json.credHelpers ?? {})].filter(Boolean)),
  ] as string[];
  for (const h of helpers) {
    const found = await execa("/bin/sh", ["-c", 'command -v "docker-credential-$0"', h], {
      env,
      extendEnv: false,
      reject: false,
    });
    if (found.exitCode !== 0) {
      return bad(
        "fail",
        "registry-auth",
        `${file} names credential helper "${h}", which is not on PATH`,
        `install docker-credential-${h} or remove it from ${file}`,
      );
    }
  }
  // Names only: credentials are never printed.
  const hosts = Object.keys(json.auths ?? {});
  const host = repository?.split("/")[0];
  if (host && !hosts.includes(host) && !json.credHelpers?.[host] && !json.credsStore) {
    return bad(
      "warn",
      "registry-auth",
      `no credentials for ${host} in ${file}`,
      `run \`docker login ${host}\` if it needs them`,
    );
  }
  return ok(
    "registry-auth",
    `${file}: ${hosts.length} registr${hosts.length === 1 ? "y" : "ies"}${helpers.length ? `, helpers ${helpers.join(", ")}` : ""}`,
  );
}

async function cacheCheck(dir: string): Promise<DoctorCheck> {
  try {
    const st = await stat(dir);
    if (!st.isDirectory())
      return bad(
        "fail",
        "source-cache",
        `${dir} is not a directory`,
        "remove it or set TALOS_EXT_CACHE_DIR / cache.sources elsewhere",
        "SOURCE_CACHE_UNUSABLE",
      );
    await access(dir, constants.W_OK);
    return ok("source-cache", dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      // Created on first use: its nearest existing parent must be writable.
      let parent = dirname(dir);
      while (
        !(await stat(parent).then(
          () => true,
          () => false,
        ))
      )
        parent = dirname(parent);
      try {
        await access(parent, constants.W_OK);
        return ok("source-cache", `${dir} (created on first download)`);
      } catch {
        /* reported below */
      }
    }
    return bad(
      "fail",
      "source-cache",
      `${dir} is not writable (${code ?? "error"})`,
      "set TALOS_EXT_CACHE_DIR or cache.sources to a writable directory",
      "SOURCE_CACHE_UNUSABLE",
    );
  }
}

/** Runs every check; none throws for a broken set-up. */
export async function runDoctor(cwd: string, env: Env, configFile?: string): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [nodeCheck()];
  let repository: string | undefined;
  let talosconfig: string | undefined;
  let cache: string | undefined;
  try {
    const loaded = await loadConfig({
      cwd,
      env,
      allowMissing: true,
      ...(configFile ? { file: configFile } : {}),
    });
    checks.push(
      loaded.file
        ? ok("config", `${loaded.file}: Talos ${loaded.config.talos.version}`)
        : bad(
            "warn",
            "config",
            "no talos-ext.yaml here or above",
            "create one (docs/configuration.md) so every command shares one set-up",
          ),
    );
    repository = loaded.config.registry?.repository;
    talosconfig = loaded.config.cluster?.talosconfig;
    cache = loaded.config.cache?.sources;
  } catch (e) {
    if (!isTalosExtError(e)) throw e;
    const first = e.diagnostics[0];
    const where = first?.file
      ? `${first.file}${first.line ? `:${first.line}:${first.column ?? 1}` : ""}: `
      : "";
    // With no file and nothing required from env, only a missing talos.version is left to say.
    if (e.code === "CONFIG_INVALID" && first?.code === "CONFIG_MISSING_KEY" && !first.file) {
      checks.push(
        bad("warn", "config", "no talos-ext.yaml here or above", "create one (docs/configuration.md)"),
      );
    } else {
      checks.push(
        bad(
          "fail",
          "config",
          `${where}${first?.message ?? e.message}`,
          first?.hint ?? e.hint ?? "",
          first?.code ?? e.code,
        ),
      );
    }
  }
  checks.push(await engineCheck(env));
  checks.push(...(await talosctlCheck(env, talosconfig)));
  checks.push(await registryCheck(env, repository));
  checks.push(
    await cacheCheck(
      cache ??
        (env.TALOS_EXT_CACHE_DIR
          ? resolve(cwd, env.TALOS_EXT_CACHE_DIR)
          : defaultCacheDir({ ...env, HOME: env.HOME ?? homedir() })),
    ),
  );
  return checks;
}

export const doctorCommand: Command = {
  name: "doctor",
  summary:
    "check the set-up (Node, docker/BuildKit, talosctl, talosconfig, registry auth, source cache, config)",
  description: [
    "Checks everything the main path needs and prints one line per check with a fix for each",
    "problem. `fail` breaks a step (exit 1); `warn` limits one (exit 0). Credentials are never printed.",
  ].join("\n"),
  positionals: [],
  options: {
    config: {
      type: "string",
      value: "FILE",
      description: "the talos-ext.yaml to check (default: found upward)",
    },
  },
  examples: ["talos-ext doctor", "talos-ext doctor --json", "talos-ext doctor --config ci/talos-ext.yaml"],
  async run(ctx) {
    const file = typeof ctx.values.config === "string" ? resolve(ctx.io.cwd, ctx.values.config) : undefined;
    const checks = await runDoctor(ctx.io.cwd, ctx.io.env, file);
    const failed = checks.some((c) => c.status === "fail");
    if (ctx.json) {
      printJson(ctx.io, { ok: !failed, checks });
    } else {
      const width = Math.max(...checks.map((c) => c.check.length));
      const lines = checks.flatMap((c) => [
        `${c.status.padEnd(4)}  ${c.check.padEnd(width)}  ${c.detail}`,
        ...(c.fix && c.status !== "ok" ? [`${" ".repeat(width + 8)}fix: ${c.fix}`] : []),
      ]);
      ctx.io.stdout(`${lines.join("\n")}\n`);
    }
    return failed ? 1 : 0;
  },
};
