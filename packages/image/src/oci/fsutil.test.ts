import { createHash } from "node:crypto";
import { mkdtemp, open, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { FileAppender } from "./fsutil.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "oci-fsutil-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it("FileAppender appends in order across background syncs, and a chunk may be reused once written", async () => {
  const file = join(dir, "blob");
  const fh = await open(file, "wx");
  const appender = new FileAppender(fh);
  const expected = createHash("sha256");
  // One buffer, refilled for every chunk: what a compressor's shared output does. 90 MiB passes
  // the background-sync threshold (32 MiB) twice, so writes go on while a data sync runs.
  const chunk = Buffer.alloc(1 << 20);
  for (let i = 0; i < 90; i++) {
    chunk.fill(i % 251);
    chunk.writeUInt32BE(i, 0);
    expected.update(chunk);
    await appender.write(chunk);
  }
  await appender.sync();
  await fh.close();
  const written = await readFile(file);
  expect(written.length).toBe(90 << 20);
  expect(createHash("sha256").update(written).digest("hex")).toBe(expected.digest("hex"));
});
