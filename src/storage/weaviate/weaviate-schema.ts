import weaviate, { type WeaviateClient } from "weaviate-client";
import { EmbedderMismatchError } from "../../domain/models.js";
import {
  replicationConfig,
  replicationMismatch,
  singleNode,
  type WeaviateReplication,
} from "./weaviate-replication.js";

/**
 * The collection Engram owns in Weaviate. Engram brings its own vectors (no
 * vectorizer module), isolates users by multi-tenancy (one tenant per
 * namespace + user, created automatically on first write), and records the
 * embedding dimension in the collection's description, because Weaviate
 * itself only learns it from the first vector.
 */
export const memoryProperties = [
  { name: "namespace", dataType: "text", tokenization: "field", indexSearchable: false },
  { name: "userId", dataType: "text", tokenization: "field", indexSearchable: false },
  { name: "type", dataType: "text", tokenization: "field", indexSearchable: false },
  { name: "content", dataType: "text", tokenization: "word" },
  { name: "importance", dataType: "number", indexRangeFilters: true },
  { name: "metadata", dataType: "text", indexFilterable: false, indexSearchable: false },
  { name: "subject", dataType: "text", tokenization: "field", indexSearchable: false },
  { name: "pinned", dataType: "boolean" },
  { name: "superseded", dataType: "boolean" },
  { name: "supersededBy", dataType: "text", tokenization: "field", indexSearchable: false },
  { name: "occurredAt", dataType: "date" },
  { name: "createdAt", dataType: "date", indexRangeFilters: true },
  { name: "updatedAt", dataType: "date" },
  { name: "lastAccessedAt", dataType: "date" },
  /** Last access, or creation when never accessed: what forgetting measures idleness from. */
  { name: "lastUsedAt", dataType: "date", indexRangeFilters: true },
  { name: "accessCount", dataType: "int" },
  { name: "validUntil", dataType: "date" },
  // Provenance (added after the first release: added to older collections at start-up).
  { name: "sourceKind", dataType: "text", tokenization: "field", indexSearchable: false },
  { name: "sourceSession", dataType: "text", tokenization: "field", indexSearchable: false },
  { name: "sourceMessageIds", dataType: "text[]", tokenization: "field", indexSearchable: false },
  { name: "sourceCaller", dataType: "text", tokenization: "field", indexSearchable: false },
  /** Earlier versions, JSON: read with the memory, never searched. */
  { name: "history", dataType: "text", indexFilterable: false, indexSearchable: false },
  /** createdAt (ms, zero-padded) ":" id: the stable, unique ListMemories order, compared as text. */
  { name: "listKey", dataType: "text", tokenization: "field", indexSearchable: false },
  /** "key=value" per metadata entry, so metadata filters are plain property filters. */
  { name: "metadataPairs", dataType: "text[]", tokenization: "field", indexSearchable: false },
  // Who said it: exact for the speaker filter, and as words for BM25 (added later too).
  { name: "speaker", dataType: "text", tokenization: "field", indexSearchable: false },
  { name: "speakerWords", dataType: "text", tokenization: "word", indexFilterable: false },
] as const;

/** Properties a collection made by an older Engram may lack; start-up adds them instead of refusing. */
const addedLater: ReadonlySet<string> = new Set([
  "sourceKind",
  "sourceSession",
  "sourceMessageIds",
  "sourceCaller",
  "history",
  "listKey",
  "metadataPairs",
  "speaker",
  "speakerWords",
]);

export class SchemaMismatchError extends Error {
  override name = "SchemaMismatchError";
}

const dimensionsTag = (dimensions: number) => `engram long-term memory; embedding dimensions=${dimensions}`;
/** The collection's description: its dimension, and (from now on) the embedder that made its vectors. */
export const descriptionOf = (dimensions: number, embedder: string | undefined) =>
  embedder === undefined ? dimensionsTag(dimensions) : `${dimensionsTag(dimensions)}; embedder=${embedder}`;
/** The embedder a description records, if any. */
export const embedderIn = (description: string | undefined) => /; embedder=(\S+)$/.exec(description ?? "")?.[1];

export interface CollectionCheck {
  /** The configured embedder's identity key; a collection recording another is refused (one recording none adopts it). */
  readonly embedder?: string;
  /** Accept any vectors (`engram reembed`): neither dimension nor embedder is checked. */
  readonly anyVectors?: boolean;
}

/**
 * Creates the collection if missing, else checks it: a different embedding
 * dimension, replication factor or a missing property fails start-up with
 * what differs. Safe
 * when several replicas start at once: a lost creation race is followed by
 * the same check.
 */
export async function ensureMemoryCollection(
  client: WeaviateClient,
  name: string,
  dimensions: number,
  check: CollectionCheck = {},
  replication: WeaviateReplication = singleNode,
): Promise<void> {
  if (!(await client.collections.exists(name))) {
    try {
      await client.collections.create({
        name,
        description: descriptionOf(dimensions, check.embedder),
        multiTenancy: weaviate.configure.multiTenancy({
          enabled: true,
          autoTenantCreation: true,
          autoTenantActivation: true,
        }),
        replication: replicationConfig(replication),
        vectorizers: weaviate.configure.vectors.selfProvided({
          vectorIndexConfig: weaviate.configure.vectorIndex.hnsw({ distanceMetric: "cosine" }),
        }),
        properties: memoryProperties.map((p) => ({ ...p })) as never,
      });
      return;
    } catch (error) {
      if (!(await client.collections.exists(name))) throw error;
      // Another replica created it first: check what it made.
    }
  }
  const collection = client.collections.get(name);
  const config = await collection.config.get();
  const problems: string[] = [];
  const recorded = embedderIn(config.description);
  const dimensionsPart = (config.description ?? "").replace(/; embedder=\S+$/, "");
  if (!check.anyVectors && check.embedder !== undefined && recorded !== undefined && recorded !== check.embedder) {
    throw new EmbedderMismatchError(`Weaviate collection "${name}"`, recorded, check.embedder);
  }
  if (!check.anyVectors && dimensionsPart !== dimensionsTag(dimensions)) {
    problems.push(
      `expected "${dimensionsTag(dimensions)}" in its description, found "${config.description ?? ""}" (ENGRAM_EMBEDDING_DIMENSIONS or the embedding model changed?)`,
    );
  }
  if (!config.multiTenancy.enabled) problems.push("multi-tenancy is not enabled");
  const replicas = replicationMismatch(name, config.replication, replication);
  if (replicas !== undefined) problems.push(replicas);
  const existing = new Map(config.properties.map((p) => [p.name, p.dataType]));
  for (const property of memoryProperties) {
    const found = existing.get(property.name);
    if (found === undefined && addedLater.has(property.name)) {
      await addMissingProperty(client, name, property);
      continue;
    }
    if (found === undefined) problems.push(`property "${property.name}" is missing`);
    else if (found !== property.dataType)
      problems.push(`property "${property.name}" is ${found}, expected ${property.dataType}`);
  }
  if (problems.length > 0) {
    throw new SchemaMismatchError(
      `Weaviate collection "${name}" does not match what Engram needs: ${problems.join("; ")}`,
    );
  }
  if (!check.anyVectors && check.embedder !== undefined && recorded === undefined) {
    // Made before embedder identities were recorded: adopt the configured one.
    await collection.config.update({ description: descriptionOf(dimensions, check.embedder) });
  }
}

/** Adds a property; another replica adding it first is fine. */
async function addMissingProperty(
  client: WeaviateClient,
  name: string,
  property: (typeof memoryProperties)[number],
): Promise<void> {
  const collection = client.collections.get(name);
  try {
    await collection.config.addProperty({ ...property } as never);
  } catch (error) {
    const config = await collection.config.get();
    if (!config.properties.some((p) => p.name === property.name)) throw error;
  }
}
