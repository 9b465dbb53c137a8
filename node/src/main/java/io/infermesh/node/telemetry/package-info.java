/**
 * Tracing every mesh process shares: the {@code telemetry:} config section ({@link
 * io.infermesh.node.telemetry.TelemetryConfig}) and the OpenTelemetry SDK it starts, with the W3C
 * {@code traceparent} interceptors for gRPC servers and clients ({@link
 * io.infermesh.node.telemetry.Tracing}).
 */
package io.infermesh.node.telemetry;
