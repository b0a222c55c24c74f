import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { crc32, gunzipSync, inflateRawSync } from "node:zlib";
import { decompressZstdFrames } from "@talos-ext/spec";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCompressor, GZIP_BLOCK_SIZE, ZSTD_BLOCK_SIZE } from "./compress.ts";

const run = promisify(execFile);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "oci-compress-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Deterministic incompressible bytes (sha256 in counter mode). */
function pseudoRandom(n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let off = 0, i = 0; off < n; i++) off += createHash("sha256").update(`r${i}`).digest().copy(out, off);
  return out;
}

/** Several blocks of each compressor, mixing text, zeros and noise, ending in a partial block. */
const INPUT = Buffer.concat([
  Buffer.from("config option value enable disable\n".repeat(120_000)),
  pseudoRandom(3_500_000),
  Buffer.alloc(2_500_000),
  Buffer.from("#include <stdio.h>\nint main(void) { return 0; }\n".repeat(60_000)),
  pseudoRandom(123_457),
]);

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface RunOptions {
  jobs?: number;
  /** Delay (ms) before the sink accepts each output chunk. */
  slowSink?: number;
  /** Keep the event loop busy in bursts while compressing, like a loaded machine. */
  busyLoop?: boolean;
}

async function compressAll(
  compression: "gzip" | "zstd",
  level: number,
  input: Buffer,
  opts: RunOptions = {},
) {
  const chunks: Buffer[] = [];
  const compressor = createCompressor(compression, {
    level,
    ...(opts.jobs ? { jobs: opts.jobs } : {}),
    output: (chunk) => {
      chunks.push(Buffer.from(chunk));
      return opts.slowSink ? sleep(opts.slowSink) : undefined;
    },
  });
  const busy = opts.busyLoop
    ? setInterval(() => {
        const until = performance.now() + 4;
        while (performance.now() < until) {}
      }, 1)
    : undefined;
  try {
    for (let off = 0; off < input.length; off += compressor.blockSize) {
      // A fresh copy each time: the compressor owns a block until it is done with it.
      const wait = compressor.write(Buffer.from(input.subarray(off, off + compressor.blockSize)));
      if (wait) await wait;
    }
    await compressor.end();
  } finally {
    clearInterval(busy);
  }
  return Buffer.concat(chunks);
}

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("gzip blocks", () => {
  it("make one gzip member with a fixed header and a trailer for the whole input", async () => {
    expect(INPUT.length).toBeGreaterThan(3 * GZIP_BLOCK_SIZE);
    const gz = await compressAll("gzip", 6, INPUT);
    expect([...gz.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    // One deflate stream from the header to the trailer: a raw inflate of the body ends exactly
    // there (several members would leave gzip headers in the middle and fail here).
    expect(inflateRawSync(gz.subarray(10, -8)).equals(INPUT)).toBe(true);
    expect(gz.readUInt32LE(gz.length - 8)).toBe(crc32(INPUT));
    expect(gz.readUInt32LE(gz.length - 4)).toBe(INPUT.length);
    expect(gunzipSync(gz).equals(INPUT)).toBe(true);
    const file = join(dir, "blocks.gz");
    await writeFile(file, gz);
    await run("gzip", ["-t", file]);
    const { stdout } = await run("sh", ["-c", `gzip -dc '${file}' | sha256sum`]);
    expect(stdout.split(" ")[0]).toBe(sha(INPUT));
  });

  it("do not depend on how many blocks are compressed at once, a slow sink or a busy event loop", async () => {
    const digests = new Set<string>();
    for (const opts of [
      { jobs: 1 },
      { jobs: 2 },
      { jobs: 3, slowSink: 3 },
      { jobs: 6, busyLoop: true },
      {},
    ]) {
      digests.add(sha(await compressAll("gzip", 1, INPUT, opts)));
    }
    expect(digests.size).toBe(1);
  });

  it("store blocks that do not compress, and deflate the rest", async () => {
    const noise = pseudoRandom(2 * GZIP_BLOCK_SIZE);
    const text = Buffer.from("#include <stdio.h>\nint main(void) { return 0; }\n".repeat(90_000));
    const input = Buffer.concat([noise, text.subarray(0, GZIP_BLOCK_SIZE)]);
    const gz = await compressAll("gzip", 6, input);
    expect(gunzipSync(gz).equals(input)).toBe(true);
    // Stored deflate blocks are 5 bytes of header per 64 KiB, so the noise costs ~0.008%: zlib's
    // own level 6 would spend the CPU to end up within ~0.1% of the input.
    const alone = await compressAll("gzip", 6, noise);
    expect(alone.length).toBeLessThan(noise.length * 1.0002);
    expect(alone.length).toBeGreaterThan(noise.length);
    // The text block still compresses like text.
    expect(gz.length - alone.length).toBeLessThan(GZIP_BLOCK_SIZE / 20);
  });

  it("handle empty input and every level", async () => {
    expect(gunzipSync(await compressAll("gzip", 6, Buffer.alloc(0))).length).toBe(0);
    const part = INPUT.subarray(0, GZIP_BLOCK_SIZE + 1000);
    for (const level of [0, 1, 9]) {
      const gz = await compressAll("gzip", level, part);
      expect(gunzipSync(gz).equals(part)).toBe(true);
      expect(gz[8]).toBe(level < 2 ? 4 : level === 9 ? 2 : 0);
    }
  });
});

it("gives the same bytes when several compressions run at once", async () => {
  const alone = {
    gzip: sha(await compressAll("gzip", 6, INPUT)),
    zstd: sha(await compressAll("zstd", 3, INPUT)),
  };
  const together = await Promise.all([
    compressAll("gzip", 6, INPUT, { jobs: 3 }),
    compressAll("zstd", 3, INPUT, { slowSink: 1 }),
    compressAll("gzip", 6, INPUT, { jobs: 2, slowSink: 2 }),
    compressAll("zstd", 3, INPUT),
  ]);
  expect(together.map(sha)).toEqual([alone.gzip, alone.zstd, alone.gzip, alone.zstd]);
});

describe("zstd blocks", () => {
  it("make one checksummed frame per block, which the zstd CLI and our reader decode to the input", async () => {
    expect(INPUT.length).toBeGreaterThan(2 * ZSTD_BLOCK_SIZE);
    const zst = await compressAll("zstd", 3, INPUT);
    const file = join(dir, "blocks.zst");
    await writeFile(file, zst);
    await run("zstd", ["-q", "-t", file]);
    const { stdout } = await run("sh", ["-c", `zstd -dc '${file}' | sha256sum`]);
    expect(stdout.split(" ")[0]).toBe(sha(INPUT));
    const out: Buffer[] = [];
    for await (const c of decompressZstdFrames([zst])) out.push(c);
    expect(Buffer.concat(out).equals(INPUT)).toBe(true);
  });

  it("declare their content size, so readers know the layer's uncompressed size from the frames", async () => {
    const file = join(dir, "sized.zst");
    await writeFile(file, await compressAll("zstd", 3, INPUT));
    const { stdout } = await run("zstd", ["-lv", file]);
    const frames = Math.ceil(INPUT.length / ZSTD_BLOCK_SIZE);
    expect(frames).toBeGreaterThan(2);
    expect(stdout).toContain(`# Zstandard Frames: ${frames}\n`);
    expect(stdout).toContain(`Decompressed Size: `);
    expect(stdout).toContain(`(${INPUT.length} B)`);
  });

  it("do not depend on how many frames are compressed at once", async () => {
    const digests = new Set<string>();
    for (const jobs of [1, 2, 5]) digests.add(sha(await compressAll("zstd", 3, INPUT, { jobs })));
    expect(digests.size).toBe(1);
  });

  it("do not depend on a slow sink or a busy event loop", async () => {
    const digests = new Set<string>();
    for (const opts of [{}, { slowSink: 3 }, { busyLoop: true }]) {
      digests.add(sha(await compressAll("zstd", 3, INPUT, opts)));
    }
    expect(digests.size).toBe(1);
  });
});

describe("failures", () => {
  /** Runs a script against the compressor in a child process, which must exit on its own. */
  async function child(script: string, nodeFlags: string[] = []) {
    const module = new URL("./compress.ts", import.meta.url).href;
    const { stdout } = await run(
      process.execPath,
      [
        ...nodeFlags,
        "--input-type=module",
        "-e",
        `import { createCompressor } from ${JSON.stringify(module)};\n${script}`,
      ],
      { timeout: 60_000 },
    );
    return stdout.trim();
  }

  it.each(["gzip", "zstd"] as const)(
    "%s: where worker threads are refused (the permission model), blocks are compressed in place, to the same bytes",
    async (codec) => {
      const input = Buffer.concat([INPUT, INPUT]);
      const file = join(dir, `threadless-${codec}.bin`);
      await writeFile(file, input);
      const out = await child(
        `
        import { createHash } from "node:crypto";
        import { readFileSync } from "node:fs";
        import { Worker } from "node:worker_threads";
        try { new Worker("", { eval: true }); console.log("threads allowed"); } catch {}
        const input = readFileSync(${JSON.stringify(file)});
        const hash = createHash("sha256");
        const c = createCompressor(${JSON.stringify(codec)}, { level: 3, output: (chunk) => { hash.update(chunk); } });
        for (let off = 0; off < input.length; off += c.blockSize) {
          const w = c.write(input.subarray(off, off + c.blockSize));
          if (w) await w;
        }
        await c.end();
        console.log(hash.digest("hex"));`,
        ["--permission", "--allow-fs-read=*"],
      );
      expect(out).toBe(sha(await compressAll(codec, 3, input)));
    },
  );

  it.each(["gzip", "zstd"])(
    "%s: a failing sink fails the stream and stops the threads, so the process can exit",
    async (codec) => {
      const out = await child(`
        let chunks = 0;
        const c = createCompressor(${JSON.stringify(codec)}, {
          level: 1,
          output: async () => { if (++chunks === 2) throw new Error("disk full"); },
        });
        const block = Buffer.alloc(c.blockSize, 7);
        try {
          for (let i = 0; i < 6; i++) { const w = c.write(block); if (w) await w; }
          await c.end();
          console.log("no error");
        } catch (err) {
          console.log("failed: " + err.message);
        }`);
      expect(out).toBe("failed: disk full");
    },
  );

  it("destroy() stops the threads of a stream that is never ended", async () => {
    const out = await child(`
      const c = createCompressor("zstd", { level: 3, output: () => undefined });
      const block = Buffer.alloc(c.blockSize, 1);
      for (let i = 0; i < 3; i++) { const w = c.write(block); if (w) await w; }
      c.destroy();
      const late = c.write(block);
      console.log(late ? await late.then(() => "accepted", (e) => "refused: " + e.message) : "accepted");`);
    expect(out).toBe("refused: compression was stopped");
  });
});
