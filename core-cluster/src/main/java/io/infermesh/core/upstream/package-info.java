/**
 * {@code engine: upstream}: forwarding generations to an existing OpenAI-compatible engine (vLLM,
 * TGI, llama.cpp server, DJL-Serving LMI) over HTTP with the JDK client — streaming
 * {@code /v1/chat/completions} and {@code /v1/completions} as server-sent events, mapping its
 * errors, closing the connection when the caller goes away, and polling its health. No gRPC here:
 * the node's Inference service wraps it with the mesh's identity, authorization, priorities and
 * metrics.
 */
package io.infermesh.core.upstream;
