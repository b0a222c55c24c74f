import { describe, expect, it } from "vitest";
import { DATA } from "../../test/template-helpers.ts";
import { TalosExtError } from "../errors.ts";
import { decodeYaml } from "../yaml/decode.ts";
import { renderTemplate } from "./index.ts";

/** 1-based line/column of an offset in `text`. */
function lineCol(text: string, offset: number) {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, column: offset - (before.lastIndexOf("\n") + 1) + 1 };
}

describe("mapPosition", () => {
  it("maps a later line to its source line after an {{ if }} removed lines", () => {
    const src = ["a: 1", '# {{ if eq .ARCH "x86_64" }}', "b: 2", "# {{ end }}", "c: 3", ""].join("\n");
    const r = renderTemplate(src, DATA, { file: "pkg.yaml" });
    expect(r.output).toBe("a: 1\n# \nc: 3\n");
    const c = r.output.indexOf("c: 3");
    expect(r.mapPosition(c)).toEqual({ line: 5, column: 1 });
    expect(r.mapPosition(c + 3)).toEqual({ line: 5, column: 4 });
    expect(r.mapPosition(0)).toEqual({ line: 1, column: 1 });
    expect(r.mapPosition(r.output.indexOf("# "))).toEqual({ line: 2, column: 1 });
  });

  it("maps every copied byte to its exact source position", () => {
    const src = "x: {{ .NAME }}\ny: [1, 2]\n{{- /* gone */}}\nz: é😀 {{ .ARCH }} tail\n";
    const r = renderTemplate(src, DATA, { file: "f" });
    for (const word of ["y: [1, 2]", "z: é😀", " tail"]) {
      const out = r.output.indexOf(word);
      const inSrc = src.indexOf(word);
      for (let k = 0; k < word.length; k++) expect(r.mapPosition(out + k)).toEqual(lineCol(src, inSrc + k));
    }
  });

  it("maps output produced by an action to the action's {{", () => {
    const src = "name:\n  value: {{ .NAME | upper }} # x\n";
    const r = renderTemplate(src, DATA, { file: "f" });
    const at = r.output.indexOf("TALOS");
    for (let k = 0; k < "TALOS".length; k++) expect(r.mapPosition(at + k)).toEqual({ line: 2, column: 10 });
    expect(r.mapPosition(at + 5)).toEqual(lineCol(src, src.indexOf(" # x")));
  });

  it("maps text of a defined template to where it is written", () => {
    const src = '{{ define "t" }}\ninner: {{ . }}\n{{ end }}top: 1\n{{ template "t" "v" }}';
    const r = renderTemplate(src, DATA, { file: "f" });
    expect(r.output).toBe("top: 1\n\ninner: v\n");
    expect(r.mapPosition(r.output.indexOf("inner"))).toEqual({ line: 2, column: 1 });
    expect(r.mapPosition(r.output.indexOf("v\n"))).toEqual({ line: 2, column: 8 });
  });

  it("maps range iterations back to the loop body", () => {
    const src = "items:\n{{ range list 1 2 }}\n  - n: {{ . }}\n{{- end }}\n";
    const r = renderTemplate(src, DATA, { file: "f" });
    expect(r.output).toBe("items:\n\n  - n: 1\n  - n: 2\n");
    const second = r.output.lastIndexOf("  - n");
    expect(r.mapPosition(second)).toEqual({ line: 3, column: 1 });
  });

  it("clamps offsets outside the output", () => {
    const r = renderTemplate("ab\ncd", DATA, { file: "f" });
    expect(r.mapPosition(-5)).toEqual({ line: 1, column: 1 });
    expect(r.mapPosition(999)).toEqual({ line: 2, column: 3 });
    expect(renderTemplate("", DATA, { file: "f" }).mapPosition(0)).toEqual({ line: 1, column: 1 });
  });

  it("lets YAML errors point at the template line the user wrote", () => {
    const src = ["a: 1", "# {{ if false }}", "removed: x", "# {{ end }}", "b: [unclosed", ""].join("\n");
    const r = renderTemplate(src, DATA, { file: "pkg.yaml" });
    const decode = () => decodeYaml(r.output, { file: "pkg.yaml", mapPosition: r.mapPosition });
    expect(decode).toThrow(TalosExtError);
    expect(decode).toThrow(
      expect.objectContaining({
        code: "YAML_SYNTAX",
        location: expect.objectContaining({ line: expect.toSatisfy((l: number) => l >= 5) }),
      }),
    );
  });

  it("lets YAML values point at their source line", () => {
    const src = [
      '# {{ if eq .ARCH "aarch64" }}',
      "arm: true",
      "# {{ else }}",
      "x86: true",
      "# {{ end }}",
      "name: {{ .NAME }}",
      "",
    ].join("\n");
    const r = renderTemplate(src, DATA, { file: "pkg.yaml" });
    const doc = decodeYaml(r.output, { file: "pkg.yaml", mapPosition: r.mapPosition });
    expect(doc.value).toEqual({ arm: "true", name: "Talos" });
    expect(doc.locate(["name"], "key")).toEqual({ file: "pkg.yaml", line: 6, column: 1 });
    expect(doc.locate(["arm"], "key")).toEqual({ file: "pkg.yaml", line: 2, column: 1 });
  });
});
