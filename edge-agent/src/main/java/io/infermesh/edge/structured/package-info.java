/**
 * Structured output and tool calling on the edge: {@link io.infermesh.edge.structured.StructuredOutput}
 * (what a request asks for: a JSON object, a JSON schema, or tool calls), compiled with the models
 * module's grammar compilers into the GBNF that llama.cpp samples under, and sent to the core as
 * {@code response_format} / {@code tool_calling} for its own constrained sampler.
 */
package io.infermesh.edge.structured;
