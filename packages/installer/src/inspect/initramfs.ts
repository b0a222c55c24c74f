/**
 * Walks a Talos initramfs as the kernel unpacks it: an optional uncompressed newc cpio
 * (microcode, NUL-padded), then compressed streams (zstd >= 1.8, xz before, gzip accepted),
 * each holding one or more newc archives; the walker goes on past every `TRAILER!!!` and skips
 * NUL padding. Node's gzip decoder and `xz -dc` decode concatenated streams as one, but Node
 * 24's zstd decoder stops after the first frame (measured, against what the reference says), so
 * zstd goes through spec's frame walker (`decompressZstdFrames`), told to skip the NUL padding
 * the kernel skips between concatenated parts; the frames' output is walked as one stream.
 * Streamed: memory holds one chunk plus `extensions.yaml`.
 */
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import {
  ByteReader,
  type ByteSource,
  decompressZstdFrames,
  sniffCompression,
  TalosExtError,
} from "@talos-ext/spec";
import { execa } from "execa";
import { installerError } from "../codes.ts";

/** What the walk found. */
export interface InitramfsContents {
  /** The last `extensions.yaml` at the archive root (later archives overwrite earlier ones). */
  extensionsYaml?: string;
  /** Every regular file by name, with its size (the last one of a name wins). */
  files: Map<string, number>;
  /** Compressions met, in order (`none` for an uncompressed cpio). */
  streams: string[];
}

/** Largest extensions.yaml kept (real ones are a few KiB). */
export const MAX_EXTENSIONS_YAML = 16 * 1024 * 1024;
const MAX_NAME = 4096;
const CPIO_MAGIC = ["070701", "070702"];
const ascii = new TextDecoder("latin1");

const cpioError = (where: string, why: string) =>
  installerError(
    "INSPECT_CPIO_INVALID",
    `${where}: ${why}`,
    "the initramfs is damaged; rebuild the installer",
  );

/** Yields exactly the next `n` bytes of `reader` (fewer only if the input ends). */
export async function* limited(reader: ByteReader, n: number): AsyncGenerator<Uint8Array> {
  let left = n;
  while (left > 0) {
    const c = await reader.readSome(Math.min(left, 1 << 20));
    if (c.length === 0) return;
    left -= c.length;
    yield c;
  }
}

/** Skips NUL bytes; false at the end of input. */
async function skipZeros(reader: ByteReader): Promise<boolean> {
  for (;;) {
    const b = await reader.peek(4096);
    if (b.length === 0) return false;
    const i = b.findIndex((x) => x !== 0);
    if (i === -1) await reader.skip(b.length);
    else {
      await reader.skip(i);
      return true;
    }
  }
}

/**
 * Walks successive newc archives until the input ends ("eof") or bytes that are not cpio follow
 * ("other", e.g. a compressed stream). `where` names the stream in errors.
 */
async function walkCpio(reader: ByteReader, out: InitramfsContents, where: string): Promise<"eof" | "other"> {
  for (;;) {
    if (!(await skipZeros(reader))) return "eof";
    const magic = ascii.decode(await reader.peek(6));
    if (!CPIO_MAGIC.includes(magic)) return "other";
    const start = reader.position;
    const header = await reader.read(110);
    if (header.length < 110) throw cpioError(where, `truncated cpio header at ${start}`);
    const field = (i: number) => {
      const text = ascii.decode(header.subarray(6 + i * 8, 14 + i * 8));
      if (!/^[0-9a-fA-F]{8}$/.test(text))
        throw cpioError(where, `cpio header at ${start} has a non-hex field`);
      return Number.parseInt(text, 16);
    };
    const mode = field(1);
    const size = field(6);
    const nameSize = field(11);
    if (nameSize < 1 || nameSize > MAX_NAME) throw cpioError(where, `cpio name size ${nameSize} at ${start}`);
    const nameBytes = await reader.read(nameSize);
    if (nameBytes.length < nameSize) throw cpioError(where, `cpio name past the end at ${start}`);
    const name = new TextDecoder().decode(nameBytes.subarray(0, nameSize - 1));
    await reader.skip((4 - ((110 + nameSize) % 4)) % 4);
    if (name === "TRAILER!!!") continue;
    const isFile = (mode & 0o170000) === 0o100000;
    const path = name.replace(/^(\.\/)+/, "");
    if (isFile && path === "extensions.yaml") {
      if (size > MAX_EXTENSIONS_YAML) {
        throw installerError(
          "INSPECT_TOO_LARGE",
          `${where}: extensions.yaml is ${size} bytes`,
          "check the installer",
        );
      }
      const data = await reader.read(size);
      if (data.length < size) throw cpioError(where, "extensions.yaml is truncated");
      out.extensionsYaml = new TextDecoder().decode(data);
    } else {
      const skipped = await reader.skip(size);
      if (skipped < size) throw cpioError(where, `${path} is truncated`);
    }
    if (isFile) out.files.set(path, size);
    await reader.skip((4 - (size % 4)) % 4);
  }
}

function decompressorFor(
  kind: string,
  input: AsyncIterable<Uint8Array>,
  where: string,
): AsyncIterable<Uint8Array> {
  const src = Readable.from(input, { objectMode: false });
  if (kind === "gzip") {
    const inflater = createGunzip();
    src.on("error", (e) => inflater.destroy(e));
    src.pipe(inflater);
    return inflater;
  }
  // Node has no xz; the `xz` binary decodes concatenated streams (and stream padding) as one.
  const proc = execa("xz", ["-dc"], {
    input: src,
    stdout: "pipe",
    stderr: "pipe",
    buffer: { stdout: false, stderr: true },
  });
  proc.catch(() => {});
  return (async function* () {
    yield* proc.iterable({ binary: true }) as AsyncIterable<Uint8Array>;
    try {
      await proc;
    } catch (e) {
      throw installerError(
        "INSPECT_COMPRESSION",
        `${where}: xz failed: ${(e as { stderr?: string }).stderr ?? ""}`.trim(),
        "the initramfs is damaged",
        {
          cause: e,
        },
      );
    }
  })();
}

/** Walks an initramfs (any byte source) and returns what it holds. */
export async function readInitramfs(source: ByteSource, where = "initramfs"): Promise<InitramfsContents> {
  const out: InitramfsContents = { files: new Map(), streams: [] };
  const mapError = (e: unknown) =>
    e instanceof TalosExtError
      ? e
      : installerError(
          "INSPECT_COMPRESSION",
          `${where}: ${(e as Error).message}`,
          "the initramfs is damaged; rebuild the installer",
          { cause: e },
        );
  const reader = new ByteReader(source, mapError);
  if ((await walkCpio(reader, out, where)) === "eof") {
    if (out.files.size > 0) out.streams.push("none");
    return out;
  }
  if (out.files.size > 0) out.streams.push("none");
  const kind = sniffCompression(await reader.peek(6));
  if (kind === "none" || kind === "bzip2") {
    throw installerError(
      "INSPECT_COMPRESSION",
      `${where}: at byte ${reader.position} comes neither cpio nor zstd, xz or gzip`,
      "the initramfs is damaged; rebuild the installer",
    );
  }
  out.streams.push(kind);
  // zstd: the walker consumes the rest of the input; NULs after the last frame are padding, any
  // other byte there is refused by a decoder (mapped to INSPECT_COMPRESSION below).
  const stream =
    kind === "zstd"
      ? decompressZstdFrames(reader.rest(), { zeroPadding: true })
      : decompressorFor(kind, reader.rest(), where);
  const inner = new ByteReader(stream, mapError);
  try {
    if ((await walkCpio(inner, out, `${where} (${kind})`)) === "other") {
      throw cpioError(
        `${where} (${kind})`,
        "the decompressed data holds something other than newc cpio archives",
      );
    }
  } finally {
    await inner.close();
  }
  return out;
}
