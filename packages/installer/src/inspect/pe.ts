/**
 * A streamed reader of a UKI (a PE/COFF image with named sections): the headers and section
 * table are read first, then the wanted sections in file order, `.initrd` handed on as a
 * stream. >= 1.10 UKIs carry a second `.cmdline` after `.profile ID=reset-maintenance`: the
 * first one is the boot cmdline. `.uname` is optional.
 */
import type { ByteReader } from "@talos-ext/spec";
import { installerError } from "../codes.ts";
import { limited } from "./initramfs.ts";

/** One section table entry. */
export interface PeSection {
  /** Section name (`.initrd`). */
  name: string;
  /** Bytes of data in the file (the smaller of VirtualSize and SizeOfRawData when both are set). */
  size: number;
  /** File offset of the data. */
  offset: number;
}

/** What was read from a UKI. */
export interface UkiInfo {
  /** `amd64`, `arm64`, or the machine number in hex. */
  machine: string;
  /** Every section, in table order. */
  sections: PeSection[];
  /** The first `.cmdline`. */
  cmdline: string;
  /** `.osrel` as key/value pairs (quotes removed). */
  osrel: Record<string, string>;
  /** `.uname` (kernel release), when present. */
  uname?: string;
}

const MACHINES: Record<number, string> = { 34404: "amd64", 43620: "arm64" };
const MAX_HEADER = 1 << 20;
const MAX_SMALL_SECTION = 1 << 20;
const MAX_SECTIONS = 96;

const peError = (where: string, why: string) =>
  installerError("INSPECT_PE_INVALID", `${where}: ${why}`, "vmlinuz.efi must be a UKI built by the imager");

/** Parses os-release text (`KEY=value`, optional quotes). */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let v = m[2] as string;
    if (/^".*"$/.test(v) || /^'.*'$/.test(v)) v = v.slice(1, -1).replace(/\\(.)/g, "$1");
    out[m[1] as string] = v;
  }
  return out;
}

const text = (b: Uint8Array) => new TextDecoder().decode(b).replace(/\0+$/, "");

/**
 * Reads a UKI from `reader` (positioned at its first byte); `onInitrd` receives the `.initrd`
 * bytes as a stream and must consume them (what it leaves is skipped).
 */
export async function readUki(
  reader: ByteReader,
  where: string,
  onInitrd: (initrd: AsyncIterable<Uint8Array>, size: number) => Promise<void>,
): Promise<UkiInfo> {
  const base = reader.position;
  const dos = await reader.peek(64);
  if (dos.length < 64 || dos[0] !== 0x4d || dos[1] !== 0x5a) throw peError(where, "no MZ header");
  const dv = new DataView(dos.buffer, dos.byteOffset, dos.byteLength);
  const peAt = dv.getUint32(0x3c, true);
  if (peAt > MAX_HEADER) throw peError(where, `PE header offset ${peAt} is past the header budget`);
  const coffHead = await reader.peek(peAt + 24);
  if (coffHead.length < peAt + 24) throw peError(where, "truncated PE header");
  const cv = new DataView(coffHead.buffer, coffHead.byteOffset, coffHead.byteLength);
  if (cv.getUint32(peAt, false) !== 0x50450000) throw peError(where, "no PE signature");
  const machineNo = cv.getUint16(peAt + 4, true);
  const count = cv.getUint16(peAt + 6, true);
  const optSize = cv.getUint16(peAt + 20, true);
  if (count > MAX_SECTIONS) {
    throw installerError(
      "INSPECT_TOO_LARGE",
      `${where}: ${count} PE sections`,
      "a UKI has about a dozen sections",
    );
  }
  const tableAt = peAt + 24 + optSize;
  const headers = await reader.peek(tableAt + count * 40);
  if (headers.length < tableAt + count * 40) throw peError(where, "truncated section table");
  const hv = new DataView(headers.buffer, headers.byteOffset, headers.byteLength);
  const sections: PeSection[] = [];
  for (let i = 0; i < count; i++) {
    const at = tableAt + i * 40;
    const name = text(headers.subarray(at, at + 8));
    const virtualSize = hv.getUint32(at + 8, true);
    const rawSize = hv.getUint32(at + 16, true);
    const offset = hv.getUint32(at + 20, true);
    const size = virtualSize > 0 && rawSize > 0 ? Math.min(virtualSize, rawSize) : rawSize;
    sections.push({ name, size, offset });
  }
  const firstOf = (n: string) => sections.find((s) => s.name === n);
  const osrel = firstOf(".osrel");
  const cmdline = firstOf(".cmdline");
  const initrd = firstOf(".initrd");
  const uname = firstOf(".uname");
  if (!osrel || !cmdline || !initrd) {
    const missing = [!osrel && ".osrel", !cmdline && ".cmdline", !initrd && ".initrd"]
      .filter(Boolean)
      .join(", ");
    throw peError(
      where,
      `no ${missing} section (sections: ${sections.map((s) => s.name).join(" ") || "none"})`,
    );
  }
  const wanted = [osrel, cmdline, initrd, uname]
    .filter((s): s is PeSection => s !== undefined)
    .sort((a, b) => a.offset - b.offset);
  const small = new Map<PeSection, Uint8Array>();
  for (const s of wanted) {
    const here = reader.position - base;
    if (s.offset < here) throw peError(where, `section ${s.name} overlaps the one before it`);
    if ((await reader.skip(s.offset - here)) < s.offset - here)
      throw peError(where, `section ${s.name} lies past the end of the file`);
    if (s === initrd) {
      const before = reader.position;
      await onInitrd(limited(reader, s.size), s.size);
      const left = s.size - (reader.position - before);
      if (left > 0 && (await reader.skip(left)) < left) throw peError(where, ".initrd is truncated");
      continue;
    }
    if (s.size > MAX_SMALL_SECTION) {
      throw installerError(
        "INSPECT_TOO_LARGE",
        `${where}: section ${s.name} is ${s.size} bytes`,
        "check the UKI",
      );
    }
    const data = await reader.read(s.size);
    if (data.length < s.size) throw peError(where, `section ${s.name} is truncated`);
    small.set(s, data.slice());
  }
  const info: UkiInfo = {
    machine: MACHINES[machineNo] ?? `0x${machineNo.toString(16)}`,
    sections,
    cmdline: text(small.get(cmdline) ?? new Uint8Array()).trim(),
    osrel: parseOsRelease(text(small.get(osrel) ?? new Uint8Array())),
  };
  if (uname) info.uname = text(small.get(uname) ?? new Uint8Array()).trim();
  return info;
}
