import { describe, expect, it } from "vitest";
import { wordForms } from "../../src/domain/word-forms.js";

describe("wordForms", () => {
  it("gives a word's regular inflections from any one of them", () => {
    for (const word of ["paint", "paints", "painted", "painting"]) {
      expect(wordForms(word)).toEqual(expect.arrayContaining(["paint", "paints", "painted", "painting"]));
    }
  });

  it("follows the spelling rules of -e, -y, -es and doubled consonants", () => {
    expect(wordForms("hikes")).toEqual(expect.arrayContaining(["hike", "hiked", "hiking"]));
    expect(wordForms("studied")).toEqual(expect.arrayContaining(["study", "studies", "studying"]));
    expect(wordForms("watches")).toEqual(expect.arrayContaining(["watch", "watched", "watching"]));
    expect(wordForms("shopping")).toEqual(expect.arrayContaining(["shop", "shops", "shopped"]));
  });

  it("leaves short words, numbers and words ending in -ss alone or nearly", () => {
    expect(wordForms("bus")).toEqual(["bus"]);
    expect(wordForms("2023")).toEqual(["2023"]);
    expect(wordForms("class")).toEqual(expect.arrayContaining(["class", "classes"]));
    expect(wordForms("class")).not.toContain("clas");
  });
});
