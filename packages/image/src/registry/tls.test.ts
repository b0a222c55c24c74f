import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningRegistry, startRegistry } from "../../../../tools/harness/registry.ts";
import { layoutTopDigest, writeLayout } from "../../test/layouts.ts";
import { pullLayout, pushLayout, RegistryClient } from "./index.ts";

const exec = promisify(execFile);
let reg: RunningRegistry;
let work: string;

beforeAll(async () => {
  // No proxy: the client talks TLS to docker-registry itself.
  reg = await startRegistry({ tls: true });
  work = await mkdtemp(join(tmpdir(), "talos-ext-tls-"));
});
afterAll(async () => {
  await reg?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe("HTTPS with a private CA", () => {
  it("pushes and pulls with caFile; skopeo with --cert-dir sees the same digest", async () => {
    const src = await writeLayout(join(work, "img"));
    const ref = `${reg.url}/talos/tls:v1`;
    const pushed = await pushLayout(src.dir, ref, { caFile: reg.caFile! });
    expect(pushed.digest).toBe(src.digest);

    const { stdout } = await exec("skopeo", ["inspect", "--cert-dir", reg.certDir!, `docker://${ref}`]);
    expect(JSON.parse(stdout).Digest).toBe(src.digest);
    const copy = join(work, "skopeo-copy");
    await exec("skopeo", ["copy", "--src-cert-dir", reg.certDir!, `docker://${ref}`, `oci:${copy}:v1`]);
    expect(await layoutTopDigest(copy)).toBe(src.digest);

    const out = join(work, "pulled");
    await pullLayout(ref, out, { caFile: reg.caFile! });
    expect(await layoutTopDigest(out)).toBe(src.digest);
  });

  it("refuses a certificate it cannot verify with REGISTRY_TLS and a hint", async () => {
    const client = new RegistryClient({ retries: 0 });
    const err = await client.getManifest(`${reg.url}/talos/tls:v1`).catch((e) => e);
    expect(err).toMatchObject({ code: "REGISTRY_TLS" });
    expect(err.hint).toContain("caFile");
  });

  it("says so when an HTTPS registry is marked insecure", async () => {
    const client = new RegistryClient({ insecure: [reg.url], retries: 0 });
    const err = await client.getManifest(`${reg.url}/talos/tls:v1`).catch((e) => e);
    expect(err).toMatchObject({ code: "REGISTRY_TLS" });
    expect(err.message).toContain("speaks HTTPS");
  });

  it("reports an unreadable caFile", () => {
    expect(() => new RegistryClient({ caFile: join(work, "missing-ca.pem") })).toThrow(
      expect.objectContaining({ code: "REGISTRY_TLS" }),
    );
  });
});
