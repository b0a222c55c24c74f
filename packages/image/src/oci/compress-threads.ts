/**
 * Compression threads: worker threads that compress one block at a time from shared memory into
 * shared memory. Compressing on worker threads rather than on the libuv threadpool keeps every
 * output buffer's allocation (and the collection of it) on the worker's own small heap: on the
 * threadpool each 4 MiB block came back as fresh external memory that triggered a full garbage
 * collection of the main heap about every 16 MiB (a fifth of the main thread's time). The
 * threadpool is also left free for file I/O.
 */
import { Worker } from "node:worker_threads";
import type * as Zlib from "node:zlib";

/** Which compressor a block goes through. */
export type BlockCodec = "gzip" | "zstd";

/**
 * Compresses one block. The calling thread and the compression threads run this one function
 * (its source text is the threads' code), so where a block is compressed never changes its bytes.
 * It must stay self-contained: it sees nothing of this module but its parameters.
 *
 * gzip: a raw deflate of the block with the previous block's last 32 KiB as its dictionary,
 * ending in a sync flush, so blocks concatenate into one deflate stream (pigz's scheme); a
 * block that does not compress is stored.
 * zstd: one frame per block, with its checksum and its content size.
 */
export function compressBlock(
  zlib: typeof Zlib,
  codec: BlockCodec,
  level: number,
  input: Uint8Array,
  dictionary: Uint8Array | undefined,
): Buffer {
  const c = zlib.constants;
  if (codec === "zstd") {
    return zlib.zstdCompressSync(input, {
      params: { [c.ZSTD_c_compressionLevel]: level, [c.ZSTD_c_checksumFlag]: 1 },
      // One output buffer that fits the whole frame (zstd's bound plus slack): no concatenation.
      chunkSize: input.length + (input.length >> 7) + (64 << 10),
    });
  }
  // A block that does not compress (firmware, already-compressed files, random data) is stored:
  // deflate spends 20 ms per MiB on such bytes at level 1 to end up storing them anyway. Five
  // 16 KiB probes spread over the block decide, so the choice depends on the bytes alone; a block
  // stored whole may lose what a compressible stretch between probes would have saved.
  const PROBE = 16 << 10;
  let stored = level > 0 && input.length >= 8 * PROBE;
  for (let i = 0; stored && i < 5; i++) {
    const at = Math.min(Math.floor((input.length * i) / 4), input.length - PROBE);
    const probe = input.subarray(at, at + PROBE);
    stored = zlib.deflateRawSync(probe, { level: 1, memLevel: 9 }).length >= PROBE * 0.98;
  }
  return zlib.deflateRawSync(input, {
    level: stored ? 0 : level,
    // zlib's largest hash table: 15-18% less CPU than the default (8) at levels 1 and 6 on a
    // rootfs, and slightly smaller output. Part of the output's identity.
    memLevel: 9,
    ...(dictionary ? { dictionary } : {}),
    // The data is written with a sync flush and the end adds nothing, so blocks concatenate.
    flush: c.Z_SYNC_FLUSH,
    finishFlush: c.Z_SYNC_FLUSH,
    // One output buffer that fits the whole block (zlib's bound for stored blocks plus slack).
    chunkSize: input.length + (input.length >> 8) + 1024,
  });
}

/** The most bytes `compressBlock` returns for `length` input bytes (both codecs' bounds, rounded up). */
export function compressBound(length: number): number {
  return length + (length >> 7) + (64 << 10);
}

/** A job as posted to a thread: input and output are views on shared memory. */
interface ThreadJob {
  id: number;
  codec: BlockCodec;
  level: number;
  input: SharedArrayBuffer;
  length: number;
  output: SharedArrayBuffer;
  dictionary: Uint8Array | undefined;
}

/** A thread's answer: the compressed length in the output buffer, or why it failed. */
type ThreadReply = { id: number; length: number } | { id: number; error: string };

/** The threads' code: receive a job, compress, copy the result into the shared output. */
function threadMain(compress: typeof compressBlock): void {
  const { parentPort } = process.getBuiltinModule("node:worker_threads");
  const zlib = process.getBuiltinModule("node:zlib");
  parentPort!.on("message", (job: ThreadJob) => {
    try {
      const out = compress(
        zlib,
        job.codec,
        job.level,
        new Uint8Array(job.input, 0, job.length),
        job.dictionary,
      );
      if (out.length > job.output.byteLength) {
        throw new Error(`${out.length} compressed bytes do not fit the ${job.output.byteLength}-byte output`);
      }
      new Uint8Array(job.output).set(out);
      parentPort!.postMessage({ id: job.id, length: out.length } satisfies ThreadReply);
    } catch (err) {
      parentPort!.postMessage({
        id: job.id,
        error: String((err as Error)?.message ?? err),
      } satisfies ThreadReply);
    }
  });
}

const THREAD_SOURCE = `"use strict";(${threadMain.toString()})(${compressBlock.toString()});`;

interface Waiting {
  job: ThreadJob;
  resolve: (length: number) => void;
  reject: (err: Error) => void;
}

/** A fixed set of compression threads; jobs go to whichever is idle, the rest wait in order. */
export class CompressionThreads {
  private readonly idle: Worker[] = [];
  private readonly queue: Waiting[] = [];
  private readonly running = new Map<number, { worker: Worker; waiting: Waiting }>();
  private nextId = 0;
  private broken: Error | undefined;

  /** Starts `count` threads; throws (with none left running) when threads may not be started. */
  constructor(count: number) {
    for (let i = 0; i < count; i++) {
      let worker: Worker;
      try {
        worker = new Worker(THREAD_SOURCE, { eval: true, name: "talos-ext-compress" });
      } catch (err) {
        for (const w of this.idle) w.terminate().catch(() => {});
        throw err;
      }
      worker.on("message", (reply: ThreadReply) => this.settle(worker, reply));
      worker.on("error", (err) => this.fail(err));
      worker.on("exit", (code) => {
        if (code !== 0) this.fail(new Error(`a compression thread exited with code ${code}`));
      });
      this.idle.push(worker);
    }
  }

  /** Compresses `length` bytes of `input` into `output`; resolves with the compressed length. */
  run(
    codec: BlockCodec,
    level: number,
    input: SharedArrayBuffer,
    length: number,
    output: SharedArrayBuffer,
    dictionary: Uint8Array | undefined,
  ): Promise<number> {
    if (this.broken) return Promise.reject(this.broken);
    return new Promise((resolve, reject) => {
      const job: ThreadJob = { id: this.nextId++, codec, level, input, length, output, dictionary };
      this.queue.push({ job, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const worker = this.idle.pop()!;
      const waiting = this.queue.shift()!;
      this.running.set(waiting.job.id, { worker, waiting });
      worker.postMessage(waiting.job);
    }
  }

  private settle(worker: Worker, reply: ThreadReply): void {
    const entry = this.running.get(reply.id);
    if (!entry) return;
    this.running.delete(reply.id);
    this.idle.push(worker);
    if ("error" in reply) entry.waiting.reject(new Error(`block compression failed: ${reply.error}`));
    else entry.waiting.resolve(reply.length);
    this.dispatch();
  }

  private fail(err: Error): void {
    this.broken ??= err;
    for (const { waiting } of this.running.values()) waiting.reject(this.broken);
    for (const waiting of this.queue) waiting.reject(this.broken);
    this.running.clear();
    this.queue.length = 0;
  }

  /** Stops every thread; jobs still waiting or running are rejected. */
  async close(): Promise<void> {
    const workers = [...this.idle, ...[...this.running.values()].map((r) => r.worker)];
    this.fail(new Error("compression was stopped"));
    this.idle.length = 0;
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
