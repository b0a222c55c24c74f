/**
 * The main job: lint every extension of `extensions/` for both platforms, then build the
 * example extensions into validated, reproducible OCI layouts under `dist/`:
 *   - usb-serial-rules: no build steps, assembled without any engine, linux/amd64 + linux/arm64;
 *   - hello-service: C compiled inside a container by the docker engine's BuildKit (linux/amd64),
 *     with the toolchain image reached through an image mirror.
 * It starts Debian's dockerd if no engine answers, and stops it again at the end.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startDockerEngine } from "./harness/docker.ts";
import { ensureToolchainImage } from "./harness/toolchain.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = `${root}packages/cli/dist/bin.js`;

function talosExt(args: string[], env: NodeJS.ProcessEnv = process.env): void {
  process.stderr.write(`\n$ talos-ext ${args.join(" ")}\n`);
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, env, stdio: "inherit" });
  if (r.status !== 0) {
    process.stderr.write(`main: talos-ext ${args[0]} failed (exit ${r.status})\n`);
    process.exit(r.status ?? 1);
  }
}

talosExt(["lint", "--root", "extensions"]);
talosExt([
  "build",
  "usb-serial-rules",
  "--root",
  "extensions",
  "--platform",
  "linux/amd64,linux/arm64",
  "--output",
  "dist/usb-serial-rules",
]);

const engine = await startDockerEngine();
try {
  ensureToolchainImage(engine.cli, engine.host);
  talosExt(
    [
      "build",
      "hello-service",
      "--root",
      "extensions",
      "--mirror",
      "ghcr.io/talos-ext-playground=talos-ext.local",
      "--output",
      "dist/hello-service",
    ],
    { ...process.env, DOCKER_HOST: engine.host },
  );
} finally {
  await engine.stop();
}
talosExt(["validate", "dist/usb-serial-rules", "--platform", "linux/arm64"]);
talosExt(["validate", "dist/hello-service", "--pkg-name", "hello-service"]);
process.stderr.write("\nmain: done; images are in dist/\n");
