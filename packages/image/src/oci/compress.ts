/**
 * Block compressors for layer blobs. The uncompressed stream arrives in fixed-size blocks (the
 * last one shorter), so block boundaries are a function of byte offsets only, never of read
 * sizes or timing; that is what keeps the output deterministic.
 *
 * Blocks live in the compressor's own shared memory (`nextBlock()`), so the producer fills them
 * in place and compression threads read them without a copy; each block is compressed on its own
 * by `compressBlock` (compress-threads.ts), several at a time, into shared output buffers that
 * are handed to the sink in order and reused once the sink is done with them. A stream shorter
 * than one block is compressed on the calling thread and starts no threads at all.
 *
 * gzip: the deflated blocks are emitted inside one gzip member: our own header (mtime 0, OS
 * 255), the concatenated deflate data, a final empty block and the CRC-32/size trailer. The
 * result is an ordinary single-member gzip stream, barely larger than a serial one (+0.01% at
 * 2 MiB blocks).
 *
 * zstd: every block is its own frame. Concatenated frames are one zstd stream to every reader
 * (the zstd CLI, containerd, Go's decoders; ours walks frame boundaries itself since Node's
 * decoder stops after the first frame). A frame cannot refer back into the one before, which
 * costs about 1% in size at 4 MiB frames.
 */
import { availableParallelism } from "node:os";
import * as zlib from "node:zlib";
import { type BlockCodec, CompressionThreads, compressBlock, compressBound } from "./compress-threads.ts";

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

/**
 * Receives compressed output in order. The chunk may be shared memory that is reused for later
 * output once the call returns, or once its returned promise settles: a sink that keeps the
 * bytes for later must copy them or return a promise that settles when it is done with them.
 */
export type OutputSink = (chunk: Buffer) => Promise<void> | undefined;

export interface BlockCompressor {
  /** Size of every block but the last. */
  readonly blockSize: number;
  /**
   * A block to fill, `blockSize` bytes of the compressor's own memory, handed back with
   * `write`. There is always one after `write` has settled (or returned nothing).
   */
  nextBlock(): Buffer;
  /**
   * Takes the next block (`blockSize` bytes, except the last): one from `nextBlock()`, or a
   * subarray of one from its start, or any other buffer (then copied). A returned promise means
   * "wait before the next block" (backpressure); it rejects if compression or output failed.
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
  /** Blocks compressed at once, i.e. threads (default: one per core); never changes the output. */
  jobs?: number;
}

export function createCompressor(compression: "gzip" | "zstd", options: CompressorOptions): BlockCompressor {
  return new ParallelBlocks(
    compression === "gzip" ? new GzipFraming(options.level) : new ZstdFraming(),
    options,
  );
}

/** What a codec adds around its compressed blocks. */
interface Framing {
  readonly codec: BlockCodec;
  readonly blockSize: number;
  /** Bytes before the first block's output. */
  header(): Buffer | undefined;
  /** Sees every block in order before it is compressed; returns its dictionary. */
  take(block: Uint8Array): Uint8Array | undefined;
  /** Bytes after the last block's output. */
  trailer(): Buffer | undefined;
  /** Whether an empty input still needs one compressed (empty) block. */
  readonly compressEmpty: boolean;
}

/** One gzip member around the deflated blocks; each block's dictionary is the previous 32 KiB. */
class GzipFraming implements Framing {
  readonly codec = "gzip";
  readonly blockSize = GZIP_BLOCK_SIZE;
  readonly compressEmpty = false;
  private readonly level: number;
  private dictionary: Uint8Array | undefined;
  private crc = 0;
  private length = 0;

  constructor(level: number) {
    this.level = level;
  }

  header(): Buffer {
    const xfl = this.level === 9 ? 2 : this.level < 2 ? 4 : 0; // as zlib writes it
    return Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, GZIP_OS_UNKNOWN]);
  }

  take(block: Uint8Array): Uint8Array | undefined {
    this.crc = zlib.crc32(block, this.crc);
    this.length = (this.length + block.length) >>> 0;
    const dictionary = this.dictionary;
    // Copied now: the block's memory is reused once it is compressed.
    this.dictionary = Uint8Array.prototype.slice.call(block, Math.max(0, block.length - WINDOW));
    return dictionary;
  }

  trailer(): Buffer {
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(this.crc >>> 0, 0);
    trailer.writeUInt32LE(this.length, 4);
    return Buffer.concat([DEFLATE_FINAL_EMPTY_BLOCK, trailer]);
  }
}

/** Bare concatenated frames; a layer blob is never zero bytes, so empty input is one empty frame. */
class ZstdFraming implements Framing {
  readonly codec = "zstd";
  readonly blockSize = ZSTD_BLOCK_SIZE;
  readonly compressEmpty = true;
  header(): undefined {
    return undefined;
  }
  take(): undefined {
    return undefined;
  }
  trailer(): undefined {
    return undefined;
  }
}

/** A block of input and the output it compresses into, both shared with the threads. */
interface Slot {
  input: SharedArrayBuffer;
  output: SharedArrayBuffer;
  inputView: Buffer;
  outputView: Buffer;
}

/** A block taken by `write` and not compressed yet. */
interface Taken {
  slot: Slot;
  length: number;
  dictionary: Uint8Array | undefined;
}

/** Threads by default: one per core (the main thread's reading and hashing fit beside them). */
function defaultJobs(): number {
  return Math.max(1, Math.min(availableParallelism(), 8));
}

class ParallelBlocks implements BlockCompressor {
  readonly blockSize: number;
  private readonly framing: Framing;
  private readonly level: number;
  private readonly output: OutputSink;
  private readonly jobs: number;
  /** Blocks in play at most: one per thread, one being filled, one being written out. */
  private readonly maxSlots: number;
  private readonly slots = new Map<ArrayBufferLike, Slot>();
  private readonly free: Slot[] = [];
  private readonly waiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  /** Whether any block was written. */
  private wrote = false;
  private threads: CompressionThreads | undefined;
  /** Whether threads could not be started, so every block is compressed here. */
  private threadless = false;
  /** Output handed to the sink in order: each link waits for the one before. */
  private tail: Promise<void> = Promise.resolve();
  private started = false;
  private failed: unknown;

  constructor(framing: Framing, options: CompressorOptions) {
    this.framing = framing;
    this.blockSize = framing.blockSize;
    this.level = options.level;
    this.output = options.output;
    this.jobs = Math.max(1, options.jobs ?? defaultJobs());
    this.maxSlots = this.jobs + 2;
  }

  nextBlock(): Buffer {
    const slot = this.free.pop() ?? this.newSlot();
    return slot.inputView;
  }

  private newSlot(): Slot {
    if (this.slots.size >= this.maxSlots)
      throw new Error("no free block: wait for write() before nextBlock()");
    const input = new SharedArrayBuffer(this.blockSize);
    const output = new SharedArrayBuffer(compressBound(this.blockSize));
    const slot = { input, output, inputView: Buffer.from(input), outputView: Buffer.from(output) };
    this.slots.set(input, slot);
    return slot;
  }

  write(block: Buffer): Promise<void> | undefined {
    if (this.failed !== undefined) return Promise.reject(this.failed);
    if (block.length > this.blockSize)
      throw new Error(`a block of ${block.length} bytes exceeds ${this.blockSize}`);
    const own = block.byteOffset === 0 ? this.slots.get(block.buffer) : undefined;
    if (own) return this.take(own, block);
    // A buffer of the caller's: copied into a free block, waiting for one if need be.
    if (this.free.length === 0 && this.slots.size >= this.maxSlots) {
      return this.slotReleased().then(() => this.write(block));
    }
    const slot = this.free.pop() ?? this.newSlot();
    block.copy(slot.inputView);
    return this.take(slot, slot.inputView.subarray(0, block.length));
  }

  private take(slot: Slot, block: Buffer): Promise<void> | undefined {
    this.start();
    this.wrote = true;
    const taken = { slot, length: block.length, dictionary: this.framing.take(block) };
    // Only the last block is short: a short first block is the whole stream, compressed here
    // rather than on threads started for it alone.
    if (this.threads === undefined && block.length < this.blockSize) this.compressHere(taken);
    else this.dispatch(taken);
    if (this.free.length > 0 || this.slots.size < this.maxSlots) return undefined;
    return this.slotReleased();
  }

  /** Emits the framing's header before anything else. */
  private start(): void {
    if (this.started) return;
    this.started = true;
    const header = this.framing.header();
    if (header) this.chain(Promise.resolve(header));
  }

  private dispatch(taken: Taken): void {
    if (this.threads === undefined && !this.threadless) {
      try {
        this.threads = new CompressionThreads(this.jobs);
      } catch {
        // Worker threads refused (Node's permission model without --allow-worker): the same
        // function compresses here, so the output is the same, only slower.
        this.threadless = true;
      }
    }
    if (!this.threads) {
      this.compressHere(taken);
      return;
    }
    const { slot, length, dictionary } = taken;
    const { codec } = this.framing;
    const job = this.threads
      .run(codec, this.level, slot.input, length, slot.output, dictionary)
      .then((n) => slot.outputView.subarray(0, n));
    job.catch(() => {}); // observed in order by the chain; never an unhandled rejection
    this.chain(job, slot);
  }

  /** Compresses a block here: for a stream of one block, cheaper than starting threads. */
  private compressHere({ slot, length, dictionary }: Taken): void {
    const input = slot.inputView.subarray(0, length);
    this.chain(Promise.resolve(compressBlock(zlib, this.framing.codec, this.level, input, dictionary)), slot);
  }

  /** Queues `chunk` for the sink after everything before it; then gives its block back. */
  private chain(chunk: Promise<Buffer>, slot?: Slot): void {
    this.tail = this.tail
      .then(() => chunk)
      .then((out) => this.output(out))
      .then(() => {
        if (slot) this.release(slot);
      });
    this.tail.catch((err) => this.fail(err));
  }

  private release(slot: Slot): void {
    this.free.push(slot);
    this.waiters.shift()?.resolve();
  }

  private slotReleased(): Promise<void> {
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Fails the stream once; its threads stop at once, whether or not the caller ends it. */
  private fail(err: unknown): void {
    this.failed ??= err;
    for (const w of this.waiters.splice(0)) w.reject(this.failed);
    this.threads?.close().catch(() => {});
  }

  async end(): Promise<void> {
    if (this.failed !== undefined) throw this.failed;
    try {
      this.start();
      if (!this.wrote && this.framing.compressEmpty) {
        this.chain(
          Promise.resolve(compressBlock(zlib, this.framing.codec, this.level, new Uint8Array(0), undefined)),
        );
      }
      const trailer = this.framing.trailer();
      if (trailer) this.chain(Promise.resolve(trailer));
      await this.tail;
    } finally {
      await this.threads?.close();
    }
  }

  destroy(): void {
    this.fail(new Error("compression was stopped"));
  }
}
