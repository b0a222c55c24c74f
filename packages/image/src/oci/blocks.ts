import { readSync } from "node:fs";
import { setImmediate as nextTurn } from "node:timers/promises";
import { entryHeader, entryHeaderInto } from "@talos-ext/spec";

/**
 * Longest stretch of synchronous work (file reads, header encoding) before the writer lets the
 * event loop run: compressors wait for the main thread to hand them their next input.
 */
const YIELD_EVERY_MS = 1;

/**
 * Cuts the uncompressed tar stream into fixed-size blocks, written in place: headers are
 * encoded and file contents read straight into the current block, so bytes are copied once.
 * Every method returns a promise only when the consumer of full blocks asks the writer to wait;
 * callers await it only then, so the common path creates no promises.
 */
export class BlockWriter {
  private block: Buffer;
  private fill = 0;
  private readonly onBlock: (block: Buffer) => Promise<void> | undefined;
  private readonly next: () => Buffer;
  private readonly size: number;
  private nextYield = 0;

  /**
   * `next` gives the block to fill after each full one (the consumer's memory, so nothing is
   * copied on the way); it is called only once `onBlock` of the block before has settled.
   */
  constructor(size: number, next: () => Buffer, onBlock: (block: Buffer) => Promise<void> | undefined) {
    this.size = size;
    this.next = next;
    this.onBlock = onBlock;
    this.block = next();
  }

  get room(): number {
    return this.size - this.fill;
  }

  /** Lets pending I/O callbacks run if the caller has been busy for a while. */
  pause(): Promise<void> | undefined {
    const now = performance.now();
    if (now < this.nextYield) return undefined;
    this.nextYield = now + YIELD_EVERY_MS;
    return nextTurn();
  }

  /** Hands the current block on if it is full. */
  flushFull(): Promise<void> | undefined {
    if (this.fill < this.size) return undefined;
    const full = this.block;
    this.fill = 0;
    const wait = this.onBlock(full);
    if (wait) {
      return wait.then(() => {
        this.block = this.next();
      });
    }
    this.block = this.next();
    return this.pause();
  }

  put(bytes: Uint8Array): Promise<void> | undefined {
    if (bytes.length < this.room) {
      this.block.set(bytes, this.fill);
      this.fill += bytes.length;
      return undefined;
    }
    return this.putSlow(bytes);
  }

  private async putSlow(bytes: Uint8Array): Promise<void> {
    let pos = 0;
    while (pos < bytes.length) {
      const n = Math.min(this.room, bytes.length - pos);
      this.block.set(bytes.subarray(pos, pos + n), this.fill);
      this.fill += n;
      pos += n;
      const wait = this.flushFull();
      if (wait) await wait;
    }
  }

  /** Zero bytes, for padding. */
  zeros(n: number): Promise<void> | undefined {
    if (n === 0) return undefined;
    if (n < this.room) {
      this.block.fill(0, this.fill, this.fill + n);
      this.fill += n;
      return undefined;
    }
    return this.putSlow(Buffer.alloc(n));
  }

  /** The entry's header block(s); see `entryHeader`. */
  header(entry: Parameters<typeof entryHeader>[0], size: number, mtime: number): Promise<void> | undefined {
    if (this.room === 0) {
      // A file read may have filled the block to the brim without handing it on.
      const wait = this.flushFull();
      if (wait) return wait.then(() => this.header(entry, size, mtime));
    }
    // Headers start on 512-byte boundaries and blocks are multiples of 512, so one fits whole.
    if (this.room >= 512 && entryHeaderInto(this.block, this.fill, entry, size, mtime)) {
      this.fill += 512;
      return this.flushFull();
    }
    return this.putAll(entryHeader(entry, size, mtime));
  }

  private async putAll(parts: Buffer[]): Promise<void> {
    for (const part of parts) {
      const wait = this.put(part);
      if (wait) await wait;
    }
  }

  /**
   * Reads up to `max` bytes of `fd` (at its current position) into the current block, which
   * must have room; returns how many were read, 0 at the end of the file. Synchronous on
   * purpose: a read from the page cache costs microseconds, a threadpool round trip far more.
   */
  readFrom(fd: number, max: number): number {
    const n = readSync(fd, this.block, this.fill, Math.min(max, this.room), null);
    this.fill += n;
    return n;
  }

  /** Hands on the last, partial block. */
  end(): Promise<void> | undefined {
    if (this.fill === 0) return undefined;
    const last = this.block.subarray(0, this.fill);
    this.fill = 0;
    return this.onBlock(last);
  }
}
