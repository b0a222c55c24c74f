/**
 * A real docker engine for tests: reuse one that answers (DOCKER_HOST or the default socket),
 * otherwise start Debian's dockerd with a private socket and data root, and stop it afterwards.
 * The data root persists between runs so BuildKit's cache and imported images survive.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";

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

/**
 * Test processes run in parallel (Nx runs several packages' tests at once) and share the one
 * engine this harness starts: each holds a lease (a file named by its pid) while it uses it, and
 * the last to leave stops the daemon. Starting is serialised by a lock directory, so two
 * processes never start two daemons on one socket.
 */
const LEASES = `${RUN_DIR}/leases`;
const LOCK = `${RUN_DIR}/start.lock`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function otherLiveLeases(): number[] {
  if (!existsSync(LEASES)) return [];
  return readdirSync(LEASES)
    .map(Number)
    .filter((pid) => Number.isInteger(pid) && pid !== process.pid && alive(pid));
}

async function withStartLock<T>(body: () => Promise<T>): Promise<T> {
  mkdirSync(RUN_DIR, { recursive: true });
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(`${LOCK}/pid`, String(process.pid));
      break;
    } catch {
      // A holder that died leaves its lock behind: take it over.
      const holder = Number(readFileOr(`${LOCK}/pid`));
      if (holder && !alive(holder)) rmSync(LOCK, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`could not take ${LOCK} (held by ${holder})`);
      else await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await body();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

function readFileOr(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

function lease(): () => void {
  mkdirSync(LEASES, { recursive: true });
  const file = `${LEASES}/${process.pid}`;
  writeFileSync(file, "");
  return () => rmSync(file, { force: true });
}

/** Stops the daemon this harness started (by its pidfile), unless another process still uses it. */
async function stopShared(release: () => void): Promise<void> {
  await withStartLock(async () => {
    release();
    if (otherLiveLeases().length > 0) return;
    const pid = Number(readFileOr(`${RUN_DIR}/dockerd.pid`));
    if (!pid || !alive(pid)) return;
    process.kill(pid, "SIGTERM");
    const deadline = Date.now() + 20_000;
    while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (alive(pid)) process.kill(pid, "SIGKILL");
  });
}

export async function startDockerEngine(): Promise<DockerEngine> {
  const cli = findBuildkitCli();
  // An engine someone else runs is used and left alone.
  for (const host of [process.env.DOCKER_HOST, "unix:///var/run/docker.sock"].filter((h): h is string =>
    Boolean(h),
  )) {
    if (host !== `unix://${RUN_DIR}/docker.sock` && answers(cli, host))
      return { host, cli, started: false, stop: async () => {} };
  }
  if (!existsSync("/usr/sbin/dockerd")) {
    throw new Error("dockerd is not installed: run tools/bootstrap (installs Debian's docker.io)");
  }
  const host = `unix://${RUN_DIR}/docker.sock`;
  return withStartLock(async () => {
    const release = lease();
    if (answers(cli, host)) {
      return { host, cli, started: false, stop: () => stopShared(release) };
    }
    mkdirSync(DATA_ROOT, { recursive: true });
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
    child.unref();
    const deadline = Date.now() + 60_000;
    while (!answers(cli, host)) {
      if (child.exitCode !== null) {
        release();
        throw new Error(`dockerd exited with ${child.exitCode}; see ${RUN_DIR}/dockerd.log`);
      }
      if (Date.now() > deadline) {
        release();
        child.kill("SIGKILL");
        throw new Error(`dockerd did not answer within 60 s; see ${RUN_DIR}/dockerd.log`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    return { host, cli, started: true, stop: () => stopShared(release) };
  });
}
