import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

/** Tracing from the OpenTelemetry SDK's standard variables: off unless asked for. */
describe("tracing configuration", () => {
  it("is off by default", () => {
    expect(loadConfig({}).tracing).toMatchObject({ exporters: [], serviceName: "engram" });
  });

  it("exports OTLP when an endpoint is set, to the signal's path", () => {
    const tracing = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" }).tracing;
    expect(tracing.exporters).toEqual(["otlp"]);
    expect(tracing.otlpTracesUrl).toBe("http://collector:4318/v1/traces");
    expect(loadConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://c.example/traces" }).tracing.otlpTracesUrl).toBe(
      "https://c.example/traces",
    );
  });

  it("follows OTEL_TRACES_EXPORTER, OTEL_SDK_DISABLED, the sampler and the resource", () => {
    expect(loadConfig({ OTEL_TRACES_EXPORTER: "console,otlp" }).tracing.exporters).toEqual(["console", "otlp"]);
    expect(
      loadConfig({ OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" }).tracing.exporters,
    ).toEqual([]);
    expect(loadConfig({ OTEL_TRACES_EXPORTER: "otlp", OTEL_SDK_DISABLED: "true" }).tracing.exporters).toEqual([]);
    const tracing = loadConfig({
      OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
      OTEL_TRACES_SAMPLER_ARG: "0.25",
      OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=prod,team=memory%20platform",
      OTEL_SERVICE_NAME: "engram-eu",
    }).tracing;
    expect(tracing).toMatchObject({
      sampler: "parentbased_traceidratio",
      samplerRatio: 0.25,
      serviceName: "engram-eu",
      resourceAttributes: { "deployment.environment": "prod", team: "memory platform" },
    });
  });

  it.each([
    [{ OTEL_TRACES_EXPORTER: "jaeger" }, "OTEL_TRACES_EXPORTER"],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" }, "OTEL_EXPORTER_OTLP_ENDPOINT"],
    [
      { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4317", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" },
      "OTEL_EXPORTER_OTLP_PROTOCOL",
    ],
    [{ OTEL_TRACES_SAMPLER: "sometimes" }, "OTEL_TRACES_SAMPLER"],
    [{ OTEL_TRACES_SAMPLER_ARG: "2" }, "OTEL_TRACES_SAMPLER_ARG"],
    [{ OTEL_RESOURCE_ATTRIBUTES: "novalue" }, "OTEL_RESOURCE_ATTRIBUTES"],
  ])("refuses %o, naming %s", (env, variable) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new RegExp(`^${variable}: `));
  });
});
