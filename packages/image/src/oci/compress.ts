/**
 * Block compressors for layer blobs. The uncompressed stream arrives in fixed-size blocks (the
 * last one shorter), so block boundaries are a function of byte offsets only, never of read
 * sizes or timing; that is what keeps the output deterministic.
 *
 * gzip: every block is deflated on its own on the libuv threadpool, several at a time, with the
 * previous 32 KiB as a preset dictionary, ending in a sync flush (pigz's scheme). The pieces are
 * emitted in order inside one gzip member: our own header (mtime 0, OS 255), the concatenated
 * deflate data, a final empty block and the CRC-32/size trailer. The result is an ordinary
 * single-member gzip stream, barely larger than a serial one (+0.01% at 2 MiB blocks).
 *
 * zstd: every block is its own frame (with its checksum), compressed on the threadpool several at
 * a time, and the frames are emitted in order. Concatenated frames are one zstd stream to every
 * reader (the zstd CLI, containerd, Go's decoders; ours walks frame boundaries itself since
 * Node's decoder stops after the first frame). A frame cannot refer back into the one before,
 * which costs about 1% in size at 4 MiB frames.
 */
import { availableParallelism } from "node:os";
import { crc32, deflateRaw, constants as zc, zstdCompress } from "node:zlib";

/**
 * Uncompressed bytes per gzip block: what one thread deflates at a time. Part of the output's
 * identity: changing it changes digests. Larger blocks cost fewer hand-offs and barely change
 * the ratio; smaller ones start all threads sooner. 1, 2 and 4 MiB measured alike.
 */
export const GZIP_BLOCK_SIZE = 2 << 20;

/**
 * Uncompressed bytes per zstd frame: what one thread compresses at a time. Part of the output's
 * identity (changing it changes digests); at level 3 the window is 2 MiB, so 4 MiB frames lose
 * little to the restart at each frame.
 */
export const ZSTD_BLOCK_SIZE = 4 << 20;

/** The deflate window: the dictionary each gzip block gets from the one before. */
const WINDOW = 32 * 1024;

/**
 * The gzip header's OS byte. zlib writes the OS it was built for (3 on Unix, 10 on Windows);
 * we always write 255 ("unknown"), as Go's compress/gzip does, so the blob does not depend on
 * where it was made.
 */
const GZIP_OS_UNKNOWN = 0xff;

/** A final, empty, fixed-Huffman deflate block, after a sync flush left the stream byte-aligned. */
const DEFLATE_FINAL_EMPTY_BLOCK = Buffer.from([0x03, 0x00]);

/** Receives compressed output in order. A returned promise is awaited before more is produced. */
export type OutputSink = (chunk: Buffer) => Promise<void> | undefined;

export interface BlockCompressor {
  /** Size of every block but the last. */
  readonly blockSize: number;
  /** The most blocks the compressor holds at once (before handing them to `recycle`). */
  readonly maxBlocks: number;
  /**
   * Takes the next block (`blockSize` bytes, except the last). The block belongs to the
   * compressor until it hands it back through `recycle`. A returned promise means "wait before
   * the next block" (backpressure); it rejects if compression or output failed.
   */
  write(block: Buffer): Promise<void> | undefined;
  /** Flushes everything to the sink; resolves once the sink has had the last byte. */
  end(): Promise<void>;
  /** Stops work after a failure elsewhere; pending output is dropped. */
  destroy(): void;
}

export interface CompressorOptions {
  level: number;
  output: OutputSink;
  /** Called with each block once the compressor no longer reads it (so it can be reused). */
  recycle?: (block: Buffer) => void;
  /** Blocks compressed at once (default: one per core, plus one queued); never changes output. */
  jobs?: number;
}

export function createCompressor(compression: "gzip" | "zstd", options: CompressorOptions): BlockCompressor {
  return compression === "gzip" ? new ParallelGzip(options) : new ParallelZstd(options);
}

/**
 * Blocks compressed at once: one per core plus one queued (so no core waits for the main thread
 * to hand it the next block), capped below the libuv pool so file writes always find a thread.
 */
function parallelJobs(): number {
  const pool = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  return Math.max(1, Math.min(availableParallelism() + 1, pool - 1));
}

function deflateBlock(block: Buffer, level: number, dictionary: Buffer | undefined): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    deflateRaw(
      block,
      {
        level,
        // zlib's largest hash table: 15-18% less CPU than the default (8) at levels 1 and 6 on
        // a rootfs, and slightly smaller output. Part of the output's identity.
        memLevel: 9,
        ...(dictionary ? { dictionary } : {}),
        // The data itself is written with a sync flush (the end then adds nothing), so the
        // output comes back as one buffer rather than two to concatenate.
        flush: zc.Z_SYNC_FLUSH,
        finishFlush: zc.Z_SYNC_FLUSH,
        // One output buffer that fits the whole block (zlib's bound for stored blocks plus
        // slack), so a block costs one threadpool round trip instead of one per 16 KiB.
        chunkSize: block.length + (block.length >> 8) + 1024,
      },
      (err, out) => (err ? reject(err) : resolve(out)),
    );
  });
}

class ParallelGzip implements BlockCompressor {
  readonly blockSize = GZIP_BLOCK_SIZE;
  private readonly level: number;
  private readonly output: OutputSink;
  private readonly recycle: (block: Buffer) => void;
  private readonly maxJobs: number;
  readonly maxBlocks: number;
  /** Jobs started and not yet handed to the sink, oldest first. */
  private readonly jobs: Promise<Buffer>[] = [];
  private dictionary: Buffer | undefined;
  private crc = 0;
  private length = 0;
  private started = false;
  private failed: unknown;

  constructor(options: CompressorOptions) {
    this.level = options.level;
    this.output = options.output;
    this.maxJobs = Math.max(1, options.jobs ?? parallelJobs());
    this.maxBlocks = this.maxJobs;
    this.recycle = options.recycle ?? (() => {});
  }

  write(block: Buffer): Promise<void> | undefined {
    if (this.failed !== undefined) return Promise.reject(this.failed);
    this.crc = crc32(block, this.crc);
    this.length = (this.length + block.length) >>> 0;
    const job = deflateBlock(block, this.level, this.dictionary);
    // The next block's dictionary is copied now: this block may be reused once its job is done.
    this.dictionary = Buffer.from(block.subarray(Math.max(0, block.length - WINDOW)));
    const settled = job.then(
      (out) => {
        this.recycle(block);
        return out;
      },
      (err) => {
        this.failed ??= err;
        throw err;
      },
    );
    settled.catch(() => {}); // observed in order by drain(); never an unhandled rejection
    this.jobs.push(settled);
    if (this.jobs.length < this.maxJobs) return undefined;
    return this.drainOne();
  }

  private header(): Buffer {
    const xfl = this.level === 9 ? 2 : this.level < 2 ? 4 : 0; // as zlib writes it
    return Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, GZIP_OS_UNKNOWN]);
  }

  private async emit(chunk: Buffer): Promise<void> {
    if (!this.started) {
      this.started = true;
      const p = this.output(this.header());
      if (p) await p;
    }
    const p = this.output(chunk);
    if (p) await p;
  }

  private async drainOne(): Promise<void> {
    const out = await this.jobs.shift()!;
    await this.emit(out);
  }

  async end(): Promise<void> {
    while (this.jobs.length > 0) await this.drainOne();
    if (!this.started) await this.emit(Buffer.alloc(0));
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(this.crc >>> 0, 0);
    trailer.writeUInt32LE(this.length, 4);
    await this.emit(Buffer.concat([DEFLATE_FINAL_EMPTY_BLOCK, trailer]));
  }

  destroy(): void {
    this.failed ??= new Error("compression was stopped");
    this.jobs.length = 0;
  }
}

function zstdFrame(block: Buffer, level: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zstdCompress(
      block,
      {
        params: { [zc.ZSTD_c_compressionLevel]: level, [zc.ZSTD_c_checksumFlag]: 1 },
        // One output buffer that fits the whole frame: one threadpool round trip per block.
        chunkSize: block.length + (block.length >> 7) + (64 << 10),
      },
      (err, out) => (err ? reject(err) : resolve(out)),
    );
  });
}

/** Independent zstd frames, one per block, compressed in parallel and emitted in order. */
class ParallelZstd implements BlockCompressor {
  readonly blockSize = ZSTD_BLOCK_SIZE;
  readonly maxBlocks: number;
  private readonly level: number;
  private readonly output: OutputSink;
  private readonly recycle: (block: Buffer) => void;
  /** Frames started and not yet handed to the sink, oldest first. */
  private readonly jobs: Promise<Buffer>[] = [];
  private wrote = false;
  private failed: unknown;

  constructor(options: CompressorOptions) {
    this.level = options.level;
    this.output = options.output;
    this.maxBlocks = Math.max(1, options.jobs ?? parallelJobs());
    this.recycle = options.recycle ?? (() => {});
  }

  write(block: Buffer): Promise<void> | undefined {
    if (this.failed !== undefined) return Promise.reject(this.failed);
    this.wrote = true;
    const settled = zstdFrame(block, this.level).then(
      (out) => {
        this.recycle(block);
        return out;
      },
      (err) => {
        this.failed ??= err;
        throw err;
      },
    );
    settled.catch(() => {}); // observed in order by drainOne(); never an unhandled rejection
    this.jobs.push(settled);
    if (this.jobs.length < this.maxBlocks) return undefined;
    return this.drainOne();
  }

  private async drainOne(): Promise<void> {
    const p = this.output(await this.jobs.shift()!);
    if (p) await p;
  }

  async end(): Promise<void> {
    // An empty input is still one (empty) frame: a layer blob is never zero bytes.
    if (!this.wrote) this.write(Buffer.alloc(0));
    while (this.jobs.length > 0) await this.drainOne();
  }

  destroy(): void {
    this.failed ??= new Error("compression was stopped");
    this.jobs.length = 0;
  }
}
