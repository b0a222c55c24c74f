/**
 * A stand-in for `buildctl` against a BuildKit daemon, which cannot run on these machines.
 * It accepts the arguments `buildctl build --frontend dockerfile.v0 ...` takes, records them
 * (TALOS_EXT_BUILDCTL_LOG), and runs the build on the docker engine's BuildKit instead. The
 * engine's old Dockerfile frontend lacks `RUN --network`, so those flags are turned into one
 * build-wide network, the way a modern frontend would have isolated each step.
 */
import { spawnSync } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const args = process.argv.slice(2);
const docker = process.env.TALOS_EXT_DOUBLE_DOCKER ?? "/usr/bin/docker";
if (process.env.TALOS_EXT_BUILDCTL_LOG)
  appendFileSync(process.env.TALOS_EXT_BUILDCTL_LOG, `${JSON.stringify(args)}\n`);

if (args[0] === "--version") {
  console.log("buildctl github.com/moby/buildkit v0.0.0-talos-ext-double");
  process.exit(0);
}
if (args[0] === "debug" && args[1] === "workers") {
  const r = spawnSync(docker, ["version", "--format", "{{.Server.Version}}"], { encoding: "utf8" });
  if (r.status !== 0) {
    console.error("error: failed to connect to buildkitd");
    process.exit(1);
  }
  console.log("ID\tPLATFORMS\ndouble\tlinux/amd64");
  process.exit(0);
}
if (args[0] !== "build") {
  console.error(`buildctl double: unsupported command ${args.join(" ")}`);
  process.exit(2);
}

const locals = {};
const opts = {};
let output;
let noCache = false;
for (let i = 1; i < args.length; i++) {
  const a = args[i];
  const next = () => args[++i];
  if (a === "--frontend") {
    if (next() !== "dockerfile.v0") throw new Error("only the dockerfile.v0 frontend is emulated");
  } else if (a === "--local") {
    const [k, v] = next().split(/=(.*)/s);
    locals[k] = v;
  } else if (a === "--opt") {
    const [k, v] = next().split(/=(.*)/s);
    opts[k] = v;
  } else if (a === "--output") output = next();
  else if (a === "--progress") next();
  else if (a === "--no-cache") noCache = true;
  else if (a === "--allow") next();
  else {
    console.error(`buildctl double: unknown flag ${a}`);
    process.exit(2);
  }
}

const dockerfile = readFileSync(join(locals.dockerfile, opts.filename ?? "Dockerfile"), "utf8");
const networks = [...dockerfile.matchAll(/^RUN (?:--\S+ )*--network=(\w+)/gm)].map((m) => m[1]);
const network = networks.some((n) => n !== "none") ? "default" : "none";
const work = mkdtempSync(join(tmpdir(), "buildctl-double-"));
const legacy = join(work, "Dockerfile");
writeFileSync(legacy, dockerfile.replace(/^(RUN (?:--\S+ )*)--network=\w+ /gm, "$1"));
const dockerArgs = [
  "build",
  "--file",
  legacy,
  "--target",
  opts.target,
  "--progress",
  "plain",
  `--network=${network}`,
  "--output",
  output,
];
if (opts.platform) dockerArgs.push("--platform", opts.platform);
if (noCache) dockerArgs.push("--no-cache");
dockerArgs.push(locals.context);
const r = spawnSync(docker, dockerArgs, { stdio: "inherit", env: { ...process.env, DOCKER_BUILDKIT: "1" } });
rmSync(work, { recursive: true, force: true });
process.exit(r.status ?? 1);
