/**
 * {@code engine.type: upstream}: the edge's local tier answered by a local OpenAI-compatible server
 * (llama-server, Ollama, vLLM) over pooled HTTP/1.1 connections read by the request's own thread —
 * chats sent as messages to {@code
 * /v1/chat/completions}, raw prompts to {@code /v1/completions}, streamed as server-sent events and
 * relayed token by token, the server's failures mapped to the edge's errors, the connection closed
 * when the edge's caller goes away. The edge's request path (auth, routing, cache, escalation,
 * quotas, privacy, audit, metrics) runs in front of it unchanged.
 */
package io.infermesh.edge.upstream;
