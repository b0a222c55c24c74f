/**
 * Where registry credentials come from, in order: the `credentials` option, then docker's
 * config.json as docker reads it: `credHelpers[host]`, else `credsStore` when set, else `auths`.
 * Nothing here ever puts a secret into a message.
 */
import { readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { registryError } from "./errors.ts";
import { DOCKER_HUB } from "./reference.ts";

/** Credentials for one registry: user and password, or an identity (refresh) token as docker stores it. */
export type CredentialInput =
  | {
      /** The registry user name. */
      username: string;
      /** The user's password, or a personal access token the registry accepts in its place. */
      password: string;
    }
  | {
      /** A refresh token, exchanged at the registry's OAuth2 token endpoint for access tokens. */
      identitytoken: string;
    };

export type Credential =
  | { kind: "basic"; username: string; password: string; source: string }
  /** A refresh token for the OAuth2 token endpoint (docker's "identity token"). */
  | { kind: "identity"; token: string; source: string };

/** The key docker uses for Docker Hub in config.json and for credential helpers. */
export const DOCKER_HUB_CONFIG_KEY = "https://index.docker.io/v1/";

const HUB_ALIASES = new Set(["docker.io", "index.docker.io", "registry-1.docker.io"]);

/** Maps a config.json key (`https://host:port/v1/`, `host:port`, ...) to the registry it names. */
export function configKeyToRegistry(key: string): string {
  let host = key.trim().replace(/^[a-z]+:\/\//i, "");
  const slash = host.indexOf("/");
  if (slash >= 0) host = host.slice(0, slash);
  host = host.toLowerCase();
  return HUB_ALIASES.has(host) ? DOCKER_HUB : host;
}

/** The server URL a credential helper is asked about. */
export function helperServerUrl(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_CONFIG_KEY : registry;
}

/** docker's config.json: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function defaultDockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.DOCKER_CONFIG || join(homedir(), ".docker");
  return join(dir, "config.json");
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

function fromInput(input: CredentialInput, source: string): Credential {
  if ("identitytoken" in input) return { kind: "identity", token: input.identitytoken, source };
  return { kind: "basic", username: input.username, password: input.password, source };
}

export class CredentialResolver {
  readonly #explicit: Record<string, CredentialInput>;
  readonly #configPath: string;
  #config: Promise<{ config: DockerConfig | undefined; file: string }> | undefined;
  readonly #cache = new Map<string, Promise<Credential | undefined>>();

  constructor(explicit: Record<string, CredentialInput> | undefined, dockerConfig: string | undefined) {
    this.#explicit = explicit ?? {};
    this.#configPath = dockerConfig ?? defaultDockerConfigPath();
  }

  /** Credentials for a registry host (`docker.io`, `host:port`), or undefined for anonymous. */
  get(registry: string): Promise<Credential | undefined> {
    let p = this.#cache.get(registry);
    if (!p) {
      p = this.#resolve(registry);
      // A failure (e.g. a helper that crashed) is not cached, so a later call can retry.
      p.catch(() => this.#cache.delete(registry));
      this.#cache.set(registry, p);
    }
    return p;
  }

  async #resolve(registry: string): Promise<Credential | undefined> {
    for (const [key, value] of Object.entries(this.#explicit)) {
      if (configKeyToRegistry(key) === registry) return fromInput(value, "the credentials option");
    }
    const { config, file } = await this.#loadConfig();
    if (!config) return undefined;

    const helper = Object.entries(config.credHelpers ?? {}).find(
      ([k]) => configKeyToRegistry(k) === registry,
    )?.[1];
    if (helper) return runHelper(helper, registry, file);
    // Like docker: a configured credsStore holds the secrets; auths entries then only list hosts.
    if (config.credsStore) return runHelper(config.credsStore, registry, file);

    for (const [key, entry] of Object.entries(config.auths ?? {})) {
      if (configKeyToRegistry(key) !== registry || !entry || typeof entry !== "object") continue;
      const source = `auths in ${file}`;
      if (typeof entry.identitytoken === "string" && entry.identitytoken) {
        return { kind: "identity", token: entry.identitytoken, source };
      }
      if (typeof entry.auth === "string" && entry.auth) {
        const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
        const sep = decoded.indexOf(":");
        if (sep <= 0) {
          throw registryError(
            "REGISTRY_CONFIG",
            `the "auth" value for ${key} in ${file} is not base64 of user:password`,
            "log in again (docker login) or fix the entry",
            { file },
          );
        }
        return { kind: "basic", username: decoded.slice(0, sep), password: decoded.slice(sep + 1), source };
      }
      if (typeof entry.username === "string" && typeof entry.password === "string") {
        return { kind: "basic", username: entry.username, password: entry.password, source };
      }
    }
    return undefined;
  }

  #loadConfig(): Promise<{ config: DockerConfig | undefined; file: string }> {
    const load = async () => {
      let file = this.#configPath;
      try {
        if ((await stat(file)).isDirectory()) file = join(file, "config.json");
      } catch {
        return { config: undefined, file };
      }
      let text: string;
      try {
        text = await readFile(file, "utf8");
      } catch {
        return { config: undefined, file };
      }
      try {
        const parsed = JSON.parse(text) as unknown;
        if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not an object");
        return { config: parsed as DockerConfig, file };
      } catch (e) {
        throw registryError(
          "REGISTRY_CONFIG",
          `${file} is not a valid docker config (JSON object)`,
          "fix or remove the file",
          {
            file,
            cause: e instanceof SyntaxError ? undefined : e,
          },
        );
      }
    };
    this.#config ??= load();
    return this.#config;
  }
}

/** A credential helper that takes longer than this is stopped (it may be waiting for a prompt). */
const HELPER_TIMEOUT_MS = 30_000;
/** A helper's answer is a small JSON object. */
const HELPER_MAX_OUTPUT = 1024 * 1024;

/** `docker-credential-<name> get` with the server URL on stdin; JSON {Username, Secret} on stdout. */
async function runHelper(
  name: string,
  registry: string,
  configFile: string,
): Promise<Credential | undefined> {
  const program = `docker-credential-${name}`;
  const source = `${program} (configured in ${configFile})`;
  // Through execa with a timeout and a bounded buffer; stderr is dropped and no error carries
  // the helper's output (it is a secret), not even as a cause.
  const result = await execa(program, ["get"], {
    input: helperServerUrl(registry),
    stdout: "pipe",
    stderr: "ignore",
    reject: false,
    timeout: HELPER_TIMEOUT_MS,
    maxBuffer: HELPER_MAX_OUTPUT,
    stripFinalNewline: false,
  });
  const stdout = typeof result.stdout === "string" ? result.stdout : "";
  const spawnCode = (result as { code?: unknown }).code;
  if (result.timedOut || result.isMaxBuffer || (result.exitCode === undefined && !result.isTerminated)) {
    const why = result.timedOut
      ? `did not answer within ${HELPER_TIMEOUT_MS / 1000} s`
      : result.isMaxBuffer
        ? `printed more than ${HELPER_MAX_OUTPUT} bytes`
        : spawnCode === "ENOENT"
          ? "is not on PATH"
          : `could not be run (${typeof spawnCode === "string" ? spawnCode : "error"})`;
    throw registryError(
      "REGISTRY_AUTH",
      `credential helper ${program} ${why}`,
      `install ${program}, or remove "${name}" from credsStore/credHelpers in ${configFile}`,
      { file: configFile },
    );
  }
  if (result.exitCode !== 0) {
    // The helper protocol reports a missing entry on stdout; that just means "anonymous".
    if (/credentials not found/i.test(stdout)) return undefined;
    throw registryError(
      "REGISTRY_AUTH",
      `credential helper ${program} failed for ${registry} (${result.exitCode !== undefined ? `exit code ${result.exitCode}` : "killed"})`,
      `run "echo ${helperServerUrl(registry)} | ${program} get" to see its error`,
      { file: configFile },
    );
  }
  let parsed: { Username?: unknown; Secret?: unknown };
  try {
    parsed = JSON.parse(stdout) as typeof parsed;
  } catch {
    throw registryError(
      "REGISTRY_AUTH",
      `credential helper ${program} printed something that is not JSON`,
      'the helper must print {"Username": ..., "Secret": ...}',
      { file: configFile },
    );
  }
  if (typeof parsed.Secret !== "string" || parsed.Secret === "") return undefined;
  const username = typeof parsed.Username === "string" ? parsed.Username : "";
  if (username === "<token>") return { kind: "identity", token: parsed.Secret, source };
  return { kind: "basic", username, password: parsed.Secret, source };
}
