import { describe, expect, it } from "vitest";
import { readable } from "./client";

describe("readable", () => {
  it.each([
    ["String should have at least 1 character", "Required."],
    ["String should have at least 10 characters", "At least 10 characters."],
    ["String should have at most 200 characters", "At most 200 characters."],
    ["String should match pattern '^\\+?[0-9 ()-]{3,32}$'", "Not in the expected form."],
    ["URL scheme should be 'http' or 'https'", "Must start with http:// or https://."],
    [
      "value is not a valid email address: An email address must have an @-sign.",
      "Not a valid email address. An email address must have an @-sign.",
    ],
    ["must not exceed max_price", "Must not exceed the maximum price."],
    ["must be a positive amount", "Must be a positive amount."],
    ["Already written for people.", "Already written for people."],
  ])("says %j as %j", (message, expected) => {
    expect(readable(message)).toBe(expected);
  });
});
