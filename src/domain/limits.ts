/**
 * Every size and range limit Engram enforces, in one place. The README's
 * "Limits" table and the proto comments document these same numbers.
 */
export const limits = {
  /** Namespace: lower-case application name. */
  namespacePattern: /^[a-z0-9][a-z0-9._-]{0,63}$/,
  /** user_id, session_id, task_id, memory_id. */
  idPattern: /^[A-Za-z0-9._:@-]{1,128}$/,

  messagesPerAppend: 100,
  messageContentBytes: 32 * 1024,
  metadataEntries: 32,
  metadataKeyBytes: 64,
  metadataValueBytes: 1024,
  getMessagesLimit: 10_000,

  workingEntriesPerSet: 64,
  workingEntriesPerTask: 256,
  workingKeyBytes: 128,
  workingValueBytes: 64 * 1024,
  /** 30 days. */
  ttlSecondsMax: 30 * 24 * 3600,

  memoryContentBytes: 8 * 1024,
  subjectBytes: 256,
  /** A message's speaker name (MessageInput.name). */
  speakerNameBytes: 64,
  /** Names in one Recall's speaker filter. */
  speakerFilterNames: 32,
  queryBytes: 8 * 1024,
  topKMax: 100,
  topKDefault: 10,
  /** Earlier versions kept per memory; the oldest go first. */
  memoryVersionsKept: 50,
  /** ListMemories page size. */
  listPageSizeDefault: 100,
  listPageSizeMax: 1000,
  /** Memories per ImportMemories call. */
  importBatchMax: 1000,

  tokenBudgetMax: 1_000_000,
  documentsPerAssembly: 100,
  documentContentBytes: 64 * 1024,
  documentIdBytes: 128,
  documentSourceBytes: 1024,

  /** Evicted ids listed in one EvictStale response. */
  evictedIdsReported: 1000,
  /** 10 years, for eviction policy hours. */
  policyHoursMax: 87_600,

  /** Largest request body the server reads, across all fields. */
  requestBytes: 4 * 1024 * 1024,

  /**
   * Streams one HTTP/2 connection may have open at once (advertised in its
   * SETTINGS; a client that opens more has them refused, and a connection
   * that keeps doing so is closed).
   */
  streamsPerConnection: 100,

  /**
   * Open calls that need no credentials (health, reflection) per remote
   * address, across its connections; more are refused (RESOURCE_EXHAUSTED)
   * so that a flood of Health/Watch streams cannot grow memory.
   */
  openUnauthenticatedCallsPerPeer: 256,
} as const;
