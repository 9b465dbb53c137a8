/**
 * Stop strings: the bounds a request's {@code stop} must keep (as OpenAI's: at most four
 * sequences, each at most {@link io.infermesh.models.stop.StopStrings#MAX_BYTES} bytes) and a
 * matcher that finds them in streamed text in time linear in the text. Used by the edge's
 * llama.cpp engine and the core's engine alike, so both tiers bound and cut the same way.
 */
package io.infermesh.models.stop;
