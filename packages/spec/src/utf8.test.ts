import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { render } from "../test/template-helpers.ts";
import { decodeUtf8Faithful, encodeUtf8Faithful, hasInvalidUtf8 } from "./utf8.ts";

describe("byte-faithful UTF-8", () => {
  it("property: any bytes survive decode then encode unchanged", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expect(Buffer.from(encodeUtf8Faithful(decodeUtf8Faithful(bytes)))).toStrictEqual(Buffer.from(bytes));
      }),
      { numRuns: 500 },
    );
  });

  it("property: valid UTF-8 decodes exactly as TextDecoder does", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 32 }), (s) => {
        const bytes = Buffer.from(s, "utf8");
        expect(decodeUtf8Faithful(bytes)).toBe(new TextDecoder().decode(bytes));
        expect(hasInvalidUtf8(decodeUtf8Faithful(bytes))).toBe(false);
      }),
    );
  });

  it("keeps each byte of an invalid sequence (overlong, surrogate, truncated, stray continuation)", () => {
    for (const bad of [
      [0xc0, 0xaf],
      [0xed, 0xa0, 0x80],
      [0xe2, 0x82],
      [0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xff],
    ]) {
      const bytes = Buffer.from([0x61, ...bad, 0x62]);
      const text = decodeUtf8Faithful(bytes);
      expect(text.startsWith("a") && text.endsWith("b")).toBe(true);
      expect(text.length).toBe(bad.length + 2);
      expect(hasInvalidUtf8(text)).toBe(true);
      expect(Buffer.from(encodeUtf8Faithful(text))).toStrictEqual(bytes);
    }
  });

  it("template functions that make bytes keep them, as Go does", () => {
    expect(Buffer.from(encodeUtf8Faithful(render('{{ b64dec "/w==" }}')))).toStrictEqual(Buffer.of(0xff));
    expect(render('{{ len (b64dec "/w==") }}')).toBe("1");
    expect(Buffer.from(encodeUtf8Faithful(render('{{ substr 0 1 "é" }}')))).toStrictEqual(Buffer.of(0xc3));
  });
});
