/**
 * Walks a Talos initramfs as the kernel unpacks it: an optional uncompressed newc cpio
 * (microcode, NUL-padded), then compressed streams (zstd >= 1.8, xz before, gzip accepted),
 * each holding one or more newc archives; the walker goes on past every `TRAILER!!!` and skips
 * NUL padding. Node's gzip decoder and `xz -dc` decode concatenated streams as one, but Node
 * 24's zstd decoder stops after the first frame (measured, against what the reference says), so
 * zstd frames are delimited here from their headers and each is decoded on its own; their
 * output is walked as one stream. Streamed: memory holds one chunk plus `extensions.yaml`.
 */
import { Readable } from "node:stream";
import { createGunzip, createZstdDecompress } from "node:zlib";
import { ByteReader, type ByteSource, sniffCompression, TalosExtError } from "@talos-ext/spec";
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

const ZSTD_MAGIC = 0xfd2fb528;
const isSkippable = (magic: number) => (magic & 0xfffffff0) === 0x184d2a50;

/** The compressed bytes of the one zstd frame at the reader's position (read from its headers). */
async function* zstdFrame(reader: ByteReader, where: string): AsyncGenerator<Uint8Array> {
  const bad = (why: string) =>
    installerError(
      "INSPECT_COMPRESSION",
      `${where}: ${why}`,
      "the initramfs is damaged; rebuild the installer",
    );
  const head = await reader.read(5);
  if (head.length < 5) throw bad("truncated zstd frame header");
  yield head.slice();
  const fhd = head[4] as number;
  const singleSegment = (fhd >> 5) & 1;
  const fcsFlag = fhd >> 6;
  const dictFlag = fhd & 3;
  const checksum = (fhd >> 2) & 1;
  const rest = (singleSegment ? 0 : 1) + [0, 1, 2, 4][dictFlag]! + [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag]!;
  const fields = await reader.read(rest);
  if (fields.length < rest) throw bad("truncated zstd frame header");
  yield fields.slice();
  for (;;) {
    const bh = await reader.read(3);
    if (bh.length < 3) throw bad("truncated zstd block header");
    yield bh.slice();
    const v = (bh[0] as number) | ((bh[1] as number) << 8) | ((bh[2] as number) << 16);
    const last = v & 1;
    const type = (v >> 1) & 3;
    const size = v >>> 3;
    if (type === 3) throw bad("reserved zstd block type");
    const stored = type === 1 ? 1 : size;
    let got = 0;
    for await (const c of limited(reader, stored)) {
      got += c.length;
      yield c;
    }
    if (got < stored) throw bad("truncated zstd block");
    if (last) break;
  }
  if (checksum) {
    const sum = await reader.read(4);
    if (sum.length < 4) throw bad("truncated zstd checksum");
    yield sum.slice();
  }
}

/** The decoded bytes of consecutive zstd frames (skippable frames and NUL padding between them skipped). */
async function* zstdFrames(reader: ByteReader, where: string): AsyncGenerator<Uint8Array> {
  for (;;) {
    if (!(await skipZeros(reader))) return;
    const m = await reader.peek(8);
    if (m.length < 4) return;
    const magic = new DataView(m.buffer, m.byteOffset, m.byteLength).getUint32(0, true);
    if (isSkippable(magic)) {
      if (m.length < 8) return;
      await reader.skip(8 + new DataView(m.buffer, m.byteOffset, m.byteLength).getUint32(4, true));
      continue;
    }
    if (magic !== ZSTD_MAGIC) return;
    const inflater = createZstdDecompress();
    const src = Readable.from(zstdFrame(reader, where), { objectMode: false });
    src.on("error", (e) => inflater.destroy(e));
    src.pipe(inflater);
    yield* inflater;
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
  const stream = kind === "zstd" ? zstdFrames(reader, where) : decompressorFor(kind, reader.rest(), where);
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
  if (kind === "zstd" && (await skipZeros(reader))) {
    throw installerError(
      "INSPECT_COMPRESSION",
      `${where}: data after the zstd frames at byte ${reader.position} is not a zstd frame`,
      "the initramfs is damaged; rebuild the installer",
    );
  }
  return out;
}
