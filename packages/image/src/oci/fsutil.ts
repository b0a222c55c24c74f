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

/** Bytes of output that may wait for the disk before the producer is asked to pause. */
const MAX_PENDING_WRITES = 16 << 20;

/**
 * Appends to an open file with positioned writes, several in flight (the threadpool does the
 * copying while the caller goes on); `write` returns a promise only when too much is pending.
 * Buffers must not change until they are written.
 */
export class FileAppender {
  private position = 0;
  private pendingBytes = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;
  private waiter: (() => void) | undefined;
  private readonly fh: Awaited<ReturnType<typeof open>>;

  constructor(fh: Awaited<ReturnType<typeof open>>) {
    this.fh = fh;
  }

  write(chunk: Buffer): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure.error);
    if (chunk.length === 0) return undefined;
    const position = this.position;
    this.position += chunk.length;
    this.pendingBytes += chunk.length;
    const done: Promise<void> = this.writeAll(chunk, position).then(
      () => {
        this.pendingBytes -= chunk.length;
        this.inFlight.delete(done);
        this.wake();
      },
      (error) => {
        this.failure ??= { error };
        this.inFlight.delete(done);
        this.wake();
      },
    );
    this.inFlight.add(done);
    if (this.pendingBytes <= MAX_PENDING_WRITES) return undefined;
    return new Promise<void>((resolve, reject) => {
      const check = () => {
        if (this.failure) reject(this.failure.error);
        else if (this.pendingBytes <= MAX_PENDING_WRITES) resolve();
        else this.waiter = check;
      };
      check();
    });
  }

  private async writeAll(chunk: Buffer, position: number): Promise<void> {
    let off = 0;
    while (off < chunk.length) {
      const { bytesWritten } = await this.fh.write(chunk, off, chunk.length - off, position + off);
      off += bytesWritten;
    }
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  /** Waits for every write; rejects with the first failure. */
  async flush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    if (this.failure) throw this.failure.error;
  }
}
