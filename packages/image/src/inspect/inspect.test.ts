import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeLayout } from "../../test/layouts.ts";
import { writeOciLayout } from "../oci/layout.ts";
import { inspectLayout } from "./inspect.ts";

const exec = promisify(execFile);
const sha256 = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "talos-ext-inspect-test-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function extensionLayout(name: string): Promise<string> {
  const root = join(work, `${name}-root`);
  await mkdir(join(root, "rootfs/usr/local/etc/containers"), { recursive: true });
  await writeFile(
    join(root, "manifest.yaml"),
    [
      "version: v1alpha1",
      "metadata:",
      "  name: demo",
      "  version: 1.0.0",
      "  author: test",
      "  description: demo extension",
      "  compatibility:",
      "    talos:",
      '      version: ">= v1.12.0"',
      "",
    ].join("\n"),
  );
  await writeFile(
    join(root, "rootfs/usr/local/etc/containers/demo.yaml"),
    [
      "name: demo",
      "container:",
      "  entrypoint: ./demo",
      "depends:",
      "  - network:",
      "      - addresses",
      "restart: always",
      "",
    ].join("\n"),
  );
  await mkdir(join(root, "rootfs/usr/local/lib/containers/demo"), { recursive: true });
  await writeFile(join(root, "rootfs/usr/local/lib/containers/demo/demo"), "#!/bin/sh\n", { mode: 0o755 });
  const out = join(work, name);
  await writeOciLayout(out, [{ platform: "linux/amd64", layers: [root] }], { sourceDateEpoch: 0 });
  return out;
}

describe("inspect reads through the one layout reader", () => {
  it("reports an extension image from a directory and from a tar of it alike", async () => {
    const dir = await extensionLayout("ext");
    const fromDir = await inspectLayout(dir, dir, { talosVersion: "v1.13.0" });
    expect(fromDir.images).toHaveLength(1);
    expect(fromDir.images[0]).toMatchObject({
      platform: "linux/amd64",
      extension: { ok: true, problems: 0, services: ["demo"], manifest: { metadata: { name: "demo" } } },
    });
    const archive = join(work, "ext.tar");
    await exec("tar", ["-cf", archive, "-C", dir, "."]);
    const fromTar = await inspectLayout(archive);
    expect(fromTar.digest).toBe(fromDir.digest);
    expect(fromTar.images.map((i) => i.digest)).toEqual(fromDir.images.map((i) => i.digest));
  });

  it("passes the Talos version to validation", async () => {
    const dir = await extensionLayout("old");
    const r = await inspectLayout(dir, dir, { talosVersion: "v1.11.0" });
    expect(r.images[0]?.extension?.ok).toBe(false);
  });

  it("lists every platform of an index; an image that is no extension has no extension part", async () => {
    const src = await writeLayout(join(work, "multi"), {
      platforms: [
        { os: "linux", architecture: "amd64" },
        { os: "linux", architecture: "arm64" },
      ],
    });
    const r = await inspectLayout(src.dir);
    expect(r.digest).toBe(src.digest);
    expect(r.images.map((i) => i.platform)).toEqual(["linux/amd64", "linux/arm64"]);
    expect(r.images.every((i) => i.extension === undefined)).toBe(true);
  });

  it("refuses a FIFO index.json at once", async () => {
    const src = await writeLayout(join(work, "fifo"));
    await rm(join(src.dir, "index.json"));
    await exec("mkfifo", [join(src.dir, "index.json")]);
    await expect(inspectLayout(src.dir)).rejects.toMatchObject({ code: "OCI_LAYOUT_INVALID" });
  });

  it("refuses a digest that is a path, a manifest without a config, and a rewritten config", async () => {
    const src = await writeLayout(join(work, "traversal"));
    const index = JSON.parse(await readFile(join(src.dir, "index.json"), "utf8"));
    index.manifests[0].digest = "sha256:../../../../etc/passwd";
    await writeFile(join(src.dir, "index.json"), JSON.stringify(index));
    await expect(inspectLayout(src.dir)).rejects.toMatchObject({
      code: "OCI_LAYOUT_INVALID",
      message: expect.stringContaining("malformed digest"),
    });

    const noConfig = await writeLayout(join(work, "noconfig"));
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, layers: [] }));
    await writeFile(join(noConfig.dir, "blobs", "sha256", sha256(manifest).slice(7)), manifest);
    await writeFile(
      join(noConfig.dir, "index.json"),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            digest: sha256(manifest),
            size: manifest.length,
          },
        ],
      }),
    );
    await expect(inspectLayout(noConfig.dir)).rejects.toMatchObject({
      code: "OCI_LAYOUT_INVALID",
      message: expect.stringContaining("has no config"),
    });

    const badConfig = await writeLayout(join(work, "badconfig"));
    const config = badConfig.blobs.find((b) => b.mediaType.includes("config"))!;
    await writeFile(join(badConfig.dir, "blobs", "sha256", config.digest.slice(7)), "x".repeat(config.size));
    await expect(inspectLayout(badConfig.dir)).rejects.toMatchObject({ code: "OCI_DIGEST_MISMATCH" });
  });
});
