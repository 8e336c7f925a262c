import { describe, expect, it } from "vitest";
import { scrubSecrets } from "../../src/observability/secret-scrub.js";

describe("scrubSecrets", () => {
  it.each([
    [
      'Failed to add metadata entry authorization: Bearer abc\u00e9. Metadata string value "Bearer abc\u00e9" contains illegal characters',
      "Failed to add metadata entry authorization: [value withheld]",
    ],
    ["sending Authorization: Bearer eyJhbGciOi.x.y now", "sending Authorization: Bearer [redacted] now"],
    ["proxy header Basic dXNlcjpwYXNz", "proxy header Basic [redacted]"],
    ['{"x-api-key":"k-123","ok":1}', '{"x-api-key":"[redacted]","ok":1}'],
    ["password=hunter2; user=bob", "password=[redacted]; user=bob"],
  ])("%s", (input, expected) => {
    expect(scrubSecrets(input)).toBe(expected);
  });

  it("leaves text without credentials alone", () => {
    const text = "Received RST_STREAM with code 8 on stream 3 (tokens used: 42)";
    expect(scrubSecrets(text)).toBe(text);
  });
});
