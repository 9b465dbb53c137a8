/**
 * Deterministic tiny Llama-architecture models for tests, demos and benchmarks: {@link
 * io.infermesh.models.tiny.TinyModels#write} turns a {@link io.infermesh.models.tiny.TinyModelSpec}
 * into the same GGUF bytes on every run and machine.
 */
package io.infermesh.models.tiny;
