/**
 * zstd streams of several frames. The format allows any number of frames back to back (and
 * skippable frames between them), and every zstd tool reads them as one stream; Node's decoder
 * stops at the end of the first frame and drops the rest. So frame boundaries are found here by
 * walking only the headers (frame header, then each block's 3-byte header and its length: no
 * decompression, linear in the input, a few bytes of state), and each frame is fed to a fresh
 * decoder. Errors inside a frame are the decoder's; bytes after the last frame that are not a
 * frame go to a decoder too, which refuses them.
 *
 * Linux concatenates initramfs parts and pads them with NUL bytes, and its unpacker skips NULs
 * between compressed streams; `zeroPadding` reads such a stream the same way. No frame starts
 * with a NUL (neither magic does), so skipping them before a frame can never eat frame data.
 */
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createZstdDecompress } from "node:zlib";

const ZSTD_MAGIC = 0xfd2fb528;
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;

type State =
  | "magic"
  | "skipSize"
  | "skip"
  | "descriptor"
  | "headerRest"
  | "blockHeader"
  | "blockBody"
  | "checksum"
  | "rest";

/** Walks one frame's structure; `consume` says how many bytes of a chunk belong to it. */
class FrameWalker {
  private state: State = "magic";
  /** Bytes of a small field collected across chunks. */
  private field: number[] = [];
  /** Bytes left of a body (skippable data, block content, header rest, checksum). */
  private left = 0;
  private checksum = false;
  private lastBlock = false;
  done = false;

  /** Bytes of `chunk` (from its start) that belong to the current frame. */
  consume(chunk: Uint8Array): number {
    let i = 0;
    while (i < chunk.length && !this.done) {
      switch (this.state) {
        case "magic":
        case "skipSize":
        case "descriptor":
        case "blockHeader": {
          const want = this.state === "descriptor" ? 1 : this.state === "blockHeader" ? 3 : 4;
          while (this.field.length < want && i < chunk.length) this.field.push(chunk[i++]!);
          if (this.field.length === want) this.fieldDone();
          break;
        }
        case "rest":
          // Not a frame: everything left goes to the decoder, which says what is wrong.
          return chunk.length;
        default: {
          const n = Math.min(this.left, chunk.length - i);
          i += n;
          this.left -= n;
          if (this.left === 0) this.bodyDone();
        }
      }
    }
    return i;
  }

  private fieldDone(): void {
    const f = this.field;
    this.field = [];
    const le = (n: number) => f.slice(0, n).reduce((v, b, k) => v + b * 2 ** (8 * k), 0);
    switch (this.state) {
      case "magic": {
        const magic = le(4);
        if (magic === ZSTD_MAGIC) this.state = "descriptor";
        else if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) this.state = "skipSize";
        else this.state = "rest";
        return;
      }
      case "skipSize":
        this.left = le(4);
        this.state = "skip";
        if (this.left === 0) this.done = true;
        return;
      case "descriptor": {
        const d = f[0]!;
        const singleSegment = (d >> 5) & 1;
        this.checksum = ((d >> 2) & 1) === 1;
        const dictId = [0, 1, 2, 4][d & 3]!;
        const contentSize = [singleSegment ? 1 : 0, 2, 4, 8][d >> 6]!;
        this.left = (singleSegment ? 0 : 1) + dictId + contentSize;
        this.state = "headerRest";
        if (this.left === 0) this.state = "blockHeader";
        return;
      }
      case "blockHeader": {
        const h = le(3);
        this.lastBlock = (h & 1) === 1;
        const type = (h >> 1) & 3;
        if (type === 3) {
          // A reserved block type: corrupt; the decoder reports it.
          this.state = "rest";
          return;
        }
        this.left = type === 1 ? 1 : h >>> 3;
        this.state = "blockBody";
        if (this.left === 0) this.bodyDone();
        return;
      }
    }
  }

  private bodyDone(): void {
    switch (this.state) {
      case "skip":
        this.done = true;
        return;
      case "headerRest":
        this.state = "blockHeader";
        return;
      case "blockBody":
        if (!this.lastBlock) this.state = "blockHeader";
        else if (this.checksum) {
          this.state = "checksum";
          this.left = 4;
        } else this.done = true;
        return;
      case "checksum":
        this.done = true;
        return;
    }
  }
}

/** Options of {@link decompressZstdFrames}. */
export interface ZstdFramesOptions {
  /**
   * Skip NUL bytes between frames and after the last one, as Linux does between the compressed
   * parts of an initramfs. Off by default: in a plain zstd stream a NUL where a frame should
   * start is corruption.
   */
  zeroPadding?: boolean;
}

/**
 * Decompresses a zstd stream of one or more frames (skippable frames dropped), each through its
 * own decoder. Rejects, with the decoder's error, a frame that is corrupt or bytes after the
 * last frame that are not one; a truncated frame rejects with an `unexpected end` error. An
 * empty input yields nothing.
 */
export async function* decompressZstdFrames(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: ZstdFramesOptions = {},
): AsyncGenerator<Buffer> {
  const input = (async function* () {
    yield* chunks;
  })();
  let pending: Uint8Array | undefined;
  let ended = false;
  const next = async (): Promise<Uint8Array | undefined> => {
    if (pending) {
      const p = pending;
      pending = undefined;
      return p;
    }
    while (!ended) {
      const r = await input.next();
      if (r.done) ended = true;
      else if (r.value.length > 0) return r.value;
    }
    return undefined;
  };
  try {
    for (;;) {
      let head = await next();
      if (options.zeroPadding) {
        while (head) {
          const start = head.findIndex((b) => b !== 0);
          if (start !== -1) {
            head = head.subarray(start);
            break;
          }
          head = await next();
        }
      }
      if (!head) return;
      pending = head;
      const walker = new FrameWalker();
      async function* frame(): AsyncGenerator<Buffer> {
        while (!walker.done) {
          const c = await next();
          // Node's decoder ends quietly on a truncated frame: say it here.
          if (!c) throw new Error("unexpected end of zstd data (truncated frame)");
          const n = walker.consume(c);
          if (n < c.length) pending = c.subarray(n);
          yield Buffer.from(c.buffer, c.byteOffset, n);
        }
      }
      const decoder = createZstdDecompress();
      const fed = pipeline(Readable.from(frame(), { objectMode: false }), decoder);
      fed.catch(() => {}); // its failure surfaces through the decoder's iterator below
      for await (const out of decoder as AsyncIterable<Buffer>) yield out;
      await fed;
    }
  } finally {
    await input.return?.();
  }
}
