import { loadConfig } from "../../src/config.js";

/**
 * Where the default embedder's files are (scripts/test.sh installs them with
 * scripts/fetch-embedding-model.sh): what the configuration finds from this
 * process's environment. Servers that tests configure from scratch get it
 * explicitly, as the image sets ENGRAM_ONNX_MODEL_DIR.
 */
export const onnxModelDir = loadConfig({ ...process.env, ENGRAM_MODEL_PROVIDER: "local-onnx" }).models.onnx!.modelDir;
