/**
 * A real docker engine for tests: reuse one that answers (DOCKER_HOST or the default socket),
 * otherwise start Debian's dockerd with a private socket and data root, and stop it afterwards.
 * The data root persists between runs so BuildKit's cache and imported images survive.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, openSync } from "node:fs";

export interface DockerEngine {
  /** Value for DOCKER_HOST. */
  host: string;
  /** A docker CLI that can run BuildKit builds against this engine. */
  cli: string;
  /** True when this harness started the daemon (and stop() will end it). */
  started: boolean;
  stop(): Promise<void>;
}

const RUN_DIR = "/run/talos-ext-docker";
const DATA_ROOT = "/var/lib/talos-ext/docker";

function answers(cli: string, host: string): boolean {
  const r = spawnSync(cli, ["version", "--format", "{{.Server.Version}}"], {
    env: { ...process.env, DOCKER_HOST: host },
    encoding: "utf8",
    timeout: 10_000,
  });
  return r.status === 0 && r.stdout.trim().length > 0;
}

/** A CLI whose `build` runs BuildKit: buildx if present, else a CLI with the built-in builder. */
export function findBuildkitCli(): string {
  for (const cli of ["docker", "/usr/bin/docker"]) {
    if (spawnSync(cli, ["buildx", "version"], { encoding: "utf8" }).status === 0) return cli;
  }
  if (existsSync("/usr/bin/docker")) return "/usr/bin/docker";
  throw new Error("no docker CLI found: run tools/bootstrap (installs Debian's docker.io)");
}

export async function startDockerEngine(): Promise<DockerEngine> {
  const cli = findBuildkitCli();
  const candidates = [
    process.env.DOCKER_HOST,
    "unix:///var/run/docker.sock",
    `unix://${RUN_DIR}/docker.sock`,
  ].filter((h): h is string => Boolean(h));
  for (const host of candidates) {
    if (answers(cli, host)) return { host, cli, started: false, stop: async () => {} };
  }
  if (!existsSync("/usr/sbin/dockerd")) {
    throw new Error("dockerd is not installed: run tools/bootstrap (installs Debian's docker.io)");
  }
  mkdirSync(RUN_DIR, { recursive: true });
  mkdirSync(DATA_ROOT, { recursive: true });
  const host = `unix://${RUN_DIR}/docker.sock`;
  const log = openSync(`${RUN_DIR}/dockerd.log`, "a");
  // No bridge and no iptables: builds here need no network, and the sandbox may lack netfilter.
  const child = spawn(
    "/usr/sbin/dockerd",
    [
      `--host=${host}`,
      `--data-root=${DATA_ROOT}`,
      `--exec-root=${RUN_DIR}/exec`,
      `--pidfile=${RUN_DIR}/dockerd.pid`,
      "--bridge=none",
      "--iptables=false",
      "--ip6tables=false",
    ],
    { stdio: ["ignore", log, log], detached: true },
  );
  const deadline = Date.now() + 60_000;
  while (!answers(cli, host)) {
    if (child.exitCode !== null)
      throw new Error(`dockerd exited with ${child.exitCode}; see ${RUN_DIR}/dockerd.log`);
    if (Date.now() > deadline)
      throw new Error(`dockerd did not answer within 60 s; see ${RUN_DIR}/dockerd.log`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    host,
    cli,
    started: true,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 20_000)))]);
      clearTimeout(timer);
      if (child.exitCode === null) child.kill("SIGKILL");
    },
  };
}
