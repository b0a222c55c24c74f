import { randomBytes } from "node:crypto";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";

/** fsyncs a directory so a rename inside it survives a crash; not every platform allows it. */
export async function syncDir(dir: string): Promise<void> {
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  try {
    fh = await open(dir, "r");
    await fh.sync();
  } catch {
    // Directories cannot be opened or fsynced everywhere (e.g. Windows); the rename is still atomic.
  } finally {
    await fh?.close();
  }
}

export function tempName(dir: string, label: string): string {
  return join(dir, `.tmp-${label}-${process.pid}-${randomBytes(6).toString("hex")}`);
}

/** Writes bytes to `target` through a synced temp file and a rename. */
export async function writeFileAtomic(target: string, data: Uint8Array): Promise<void> {
  const dir = dirname(target);
  await mkdir(dir, { recursive: true });
  const tmp = tempName(dir, "file");
  const fh = await open(tmp, "wx", 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  try {
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Bytes appended between background syncs. Writing a large blob back to the disk is slow (about
 * 240 ms for a 270 MB layer here); flushing as we go overlaps that with compression, so the final
 * fsync has little left to do.
 */
const SYNC_EVERY = 32 << 20;

/**
 * Appends to an open file with positioned writes. `write` resolves once the chunk is on its way
 * to the disk (in the page cache), so the caller may reuse the chunk's memory right after. Every
 * `SYNC_EVERY` bytes a data sync starts in the background; `sync` ends with a full fsync.
 */
export class FileAppender {
  private position = 0;
  private unsynced = 0;
  private syncing: Promise<void> | undefined;
  private readonly fh: Awaited<ReturnType<typeof open>>;

  constructor(fh: Awaited<ReturnType<typeof open>>) {
    this.fh = fh;
  }

  async write(chunk: Buffer): Promise<void> {
    const position = this.position;
    this.position += chunk.length;
    let off = 0;
    while (off < chunk.length) {
      const { bytesWritten } = await this.fh.write(chunk, off, chunk.length - off, position + off);
      off += bytesWritten;
    }
    this.unsynced += chunk.length;
    if (this.unsynced >= SYNC_EVERY && this.syncing === undefined) {
      this.unsynced = 0;
      const syncing = this.fh.datasync().finally(() => {
        if (this.syncing === syncing) this.syncing = undefined;
      });
      syncing.catch(() => {}); // a failure shows again in the final fsync
      this.syncing = syncing;
    }
  }

  /** Waits for a background sync, then fsyncs the whole file. */
  async sync(): Promise<void> {
    await this.syncing?.catch(() => {});
    await this.fh.sync();
  }
}
