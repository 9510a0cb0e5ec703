import { describe, expect, it } from "vitest";
import { optionalEnum, optionalString, safeNext } from "./search";

describe("search parameters", () => {
  it("keeps a number the router parsed from a typed URL, as text", () => {
    expect(optionalString(50)).toBe("50");
    expect(optionalString(12.5)).toBe("12.5");
    expect(optionalString(true)).toBe("true");
    expect(optionalString(Number.NaN)).toBeUndefined();
    expect(optionalString("  ")).toBeUndefined();
  });

  it("drops a value that is not one of the allowed", () => {
    expect(optionalEnum("price", ["newest", "price"])).toBe("price");
    expect(optionalEnum("cheapest", ["newest", "price"])).toBeUndefined();
  });

  it("only sends back to a path of this site after logging in", () => {
    expect(safeNext("/my/offers?status=pending")).toBe("/my/offers?status=pending");
    expect(safeNext("//evil.example/")).toBeUndefined();
    expect(safeNext("https://evil.example/")).toBeUndefined();
    expect(safeNext("/\\evil.example/")).toBeUndefined();
    expect(safeNext("/\t/evil.example/")).toBeUndefined();
  });
});
