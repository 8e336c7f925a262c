import type { Reranker } from "../domain/rerank.js";

export interface RerankConfig {
  /** Base URL of a rerank endpoint (".../v1"); requests go to `${baseUrl}/rerank`. */
  readonly baseUrl: string;
  readonly model: string;
  readonly apiKey: string | undefined;
  /** Results the reranker reorders per recall. */
  readonly depth: number;
  readonly timeoutMs: number;
}

interface RerankReply {
  readonly results?: readonly { readonly index?: number; readonly relevance_score?: number }[];
}

/**
 * A reranker behind the rerank API that OpenAI-compatible servers offer
 * (vLLM, llama.cpp's server, Hugging Face TEI, Jina, Cohere's v2 shape):
 * POST {model, query, documents} to `/rerank`, answered by
 * {results: [{index, relevance_score}]}. A document the reply leaves out
 * scores lowest. Failures throw; recall then keeps its own order.
 */
export class OpenAiCompatibleReranker implements Reranker {
  constructor(private readonly config: RerankConfig) {}

  async rerank(query: string, documents: readonly string[], signal?: AbortSignal): Promise<number[]> {
    const timeout = AbortSignal.timeout(this.config.timeoutMs);
    const response = await fetch(`${this.config.baseUrl.replace(/\/+$/, "")}/rerank`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(this.config.apiKey ? { authorization: `Bearer ${this.config.apiKey}` } : {}),
      },
      body: JSON.stringify({ model: this.config.model, query, documents, top_n: documents.length }),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    if (!response.ok) throw new Error(`rerank endpoint answered HTTP ${response.status}`);
    const reply = (await response.json()) as RerankReply;
    const scores = documents.map(() => -Infinity);
    for (const result of reply.results ?? []) {
      const { index, relevance_score: score } = result;
      if (typeof index === "number" && index >= 0 && index < scores.length && typeof score === "number") {
        scores[index] = score;
      }
    }
    return scores;
  }
}
