import { randomBytes } from "node:crypto";
import { constants, zstdCompressSync } from "node:zlib";
import { execaSync } from "execa";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decompressZstdFrames, type ZstdFramesOptions } from "./zstd-frames.ts";

async function decode(bytes: Uint8Array, chunk = 1 << 16, options: ZstdFramesOptions = {}): Promise<Buffer> {
  async function* chunks() {
    for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk);
  }
  const out: Buffer[] = [];
  for await (const c of decompressZstdFrames(chunks(), options)) out.push(c);
  return Buffer.concat(out);
}

const skippable = (data: Uint8Array) => {
  const h = Buffer.alloc(8);
  h.writeUInt32LE(0x184d2a53, 0);
  h.writeUInt32LE(data.length, 4);
  return Buffer.concat([h, data]);
};

describe("zstd streams of several frames", () => {
  it("reads every frame, with skippable frames between, at any chunking (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 3000 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 700 }),
        fc.boolean(),
        async (parts, chunk, withSkippable) => {
          const frames = parts.flatMap((p, i) => {
            const f = zstdCompressSync(p, { params: { [constants.ZSTD_c_compressionLevel]: 1 + (i % 5) } });
            return withSkippable && i % 2 === 0 ? [skippable(p.subarray(0, 7)), f] : [f];
          });
          const got = await decode(Buffer.concat(frames), chunk);
          expect(got.equals(Buffer.concat(parts))).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("reads what the zstd CLI writes, multi-threaded and with checksums", async () => {
    const data = Buffer.concat([randomBytes(300_000), Buffer.alloc(2_000_000, 7), randomBytes(100_000)]);
    // stripFinalNewline off: execa drops a last 0x0a byte even from binary output, and the
    // frame's checksum ends in one once in 256 random inputs (seen as a 1-byte-short frame).
    const one = execaSync("zstd", ["-c", "-3", "--check"], {
      input: data,
      encoding: "buffer",
      stripFinalNewline: false,
    }).stdout;
    const both = Buffer.concat([Buffer.from(one), Buffer.from(one)]);
    expect((await decode(both, 4096)).equals(Buffer.concat([data, data]))).toBe(true);
  });

  const payload = randomBytes(50_000);
  const frame = zstdCompressSync(payload, { params: { [constants.ZSTD_c_checksumFlag]: 1 } });

  it("a truncated frame is an error (Node's decoder alone would end quietly)", async () => {
    await expect(decode(frame.subarray(0, frame.length - 100))).rejects.toThrow(/truncated/);
  });

  it("bytes after the last frame that are no frame are an error", async () => {
    await expect(decode(Buffer.concat([frame, Buffer.from("junk after the frame")]))).rejects.toThrow();
  });

  it("a corrupted block fails the frame's checksum", async () => {
    const bad = Buffer.from(frame);
    bad[frame.length >> 1] = bad[frame.length >> 1]! ^ 0xff;
    await expect(decode(bad)).rejects.toThrow();
    expect((await decode(frame)).equals(payload)).toBe(true);
  });

  it("with zeroPadding, skips NUL bytes between frames and after the last, at any chunking (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.uint8Array({ maxLength: 2000 }), fc.nat({ max: 1500 })), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.integer({ min: 1, max: 500 }),
        async (parts, chunk) => {
          // Each frame followed by its run of NULs (the last run is trailing padding).
          const padded = parts.flatMap(([p, zeros]) => [zstdCompressSync(p), Buffer.alloc(zeros)]);
          const got = await decode(Buffer.concat(padded), chunk, { zeroPadding: true });
          expect(got.equals(Buffer.concat(parts.map(([p]) => p)))).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("without zeroPadding, NUL padding between frames is an error; with it, other bytes still are", async () => {
    const padded = Buffer.concat([frame, Buffer.alloc(512), frame]);
    await expect(decode(padded)).rejects.toThrow();
    expect((await decode(padded, 100, { zeroPadding: true })).equals(Buffer.concat([payload, payload]))).toBe(
      true,
    );
    await expect(
      decode(Buffer.concat([frame, Buffer.alloc(4), Buffer.from("junk")]), 1 << 16, { zeroPadding: true }),
    ).rejects.toThrow();
    expect((await decode(Buffer.alloc(4096), 1000, { zeroPadding: true })).length).toBe(0);
  });
});
