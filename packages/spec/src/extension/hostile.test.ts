import { execFileSync } from "node:child_process";
import { mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, expect, test } from "vitest";
import { GOOD_MANIFEST, goodExtension, tarSpecs, writeOciLayout } from "../../test/support/fixtures.ts";
import { writeTar } from "../../test/support/tar-writer.ts";
import { validateExtension } from "./validate.ts";

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "talos-ext-hostile-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

test("a FIFO or /dev/zero index.json fails at once with a code", async () => {
  const dir = await writeOciLayout(join(tmp, "fifo"), [
    { platform: "linux/amd64", layers: [{ specs: tarSpecs(goodExtension()) }] },
  ]);
  await rm(join(dir, "index.json"));
  execFileSync("mkfifo", [join(dir, "index.json")]);
  await expect(validateExtension(dir)).rejects.toMatchObject({ code: "OCI_LAYOUT_INVALID" });
  await rm(join(dir, "index.json"));
  await symlink("/dev/zero", join(dir, "index.json"));
  await expect(validateExtension(dir)).rejects.toMatchObject({ code: "OCI_LAYOUT_INVALID" });
});

test("a config blob that does not match its digest is an error", async () => {
  const dir = await writeOciLayout(join(tmp, "config"), [
    { platform: "linux/amd64", layers: [{ specs: tarSpecs(goodExtension()) }] },
  ]);
  const index = JSON.parse(execFileSync("cat", [join(dir, "index.json")]).toString());
  const manifest = JSON.parse(
    execFileSync("cat", [join(dir, "blobs/sha256", index.manifests[0].digest.slice(7))]).toString(),
  );
  const config = join(dir, "blobs/sha256", manifest.config.digest.slice(7));
  await rm(config);
  await symlink("/etc/passwd", config);
  await expect(validateExtension(dir)).rejects.toMatchObject({ code: "OCI_LAYOUT_INVALID" });
});

test("writes through a symlink and bad hard links are findings", async () => {
  const file = join(tmp, "through.tar");
  await writeFile(
    file,
    writeTar([
      ...tarSpecs(goodExtension()),
      { name: "rootfs/usr/local/out", type: "2", linkname: "/etc" },
      { name: "rootfs/usr/local/out/passwd", data: "x" },
      { name: "rootfs/usr/local/h1", type: "1", linkname: "rootfs/usr/local/missing" },
      { name: "rootfs/usr/local/h2", type: "1", linkname: "rootfs/usr/local" },
      { name: "rootfs/usr/local/h3", type: "1", linkname: "rootfs/usr/local/out/passwd" },
    ]),
  );
  const r = await validateExtension(file);
  expect(r.ok).toBe(false);
  const codes = r.diagnostics.map((d) => d.code);
  expect(codes).toContain("EXT_WRITE_THROUGH_SYMLINK");
  expect(codes.filter((c) => c === "EXT_HARDLINK_INVALID")).toHaveLength(3);
});

test("a gzip-bomb manifest.yaml is refused without being inflated", async () => {
  const file = join(tmp, "bomb.tar.gz");
  const big = new Uint8Array(8 * 1024 * 1024).fill(0x20);
  big.set(new TextEncoder().encode(GOOD_MANIFEST));
  await writeFile(file, gzipSync(writeTar([{ name: "manifest.yaml", data: big }])));
  await expect(validateExtension(file)).rejects.toMatchObject({ code: "EXT_ENTRY_TOO_LARGE" });
});
