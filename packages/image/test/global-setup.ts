/**
 * One docker engine for the whole test run: started here (or reused if one answers), shared by
 * every test file through DOCKER_HOST, and stopped at the end. The toolchain image the examples
 * compile with is made ready here too, so test files never race to build it.
 */
import { type DockerEngine, startDockerEngine } from "../../../tools/harness/docker.ts";
import { ensureToolchainImage } from "../../../tools/harness/toolchain.ts";

let engine: DockerEngine | undefined;

export async function setup(): Promise<void> {
  engine = await startDockerEngine();
  ensureToolchainImage(engine.cli, engine.host);
  process.env.DOCKER_HOST = engine.host;
}

export async function teardown(): Promise<void> {
  await engine?.stop();
}
