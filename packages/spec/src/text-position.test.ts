import { expect, it } from "vitest";
import { lineColumn, lineStarts } from "./text-position.ts";

it("maps offsets to 1-based lines and columns, a newline belonging to the line it ends", () => {
  const text = "ab\n\ncd\ne";
  const starts = lineStarts(text);
  expect(starts).toEqual([0, 3, 4, 7]);
  const at = (offset: number) => lineColumn(starts, offset);
  expect(at(0)).toEqual({ line: 1, column: 1 });
  expect(at(2)).toEqual({ line: 1, column: 3 }); // the first "\n"
  expect(at(3)).toEqual({ line: 2, column: 1 }); // the empty line
  expect(at(5)).toEqual({ line: 3, column: 2 });
  expect(at(8)).toEqual({ line: 4, column: 2 }); // the end of the text
  expect(lineColumn(lineStarts(""), 0)).toEqual({ line: 1, column: 1 });
});
