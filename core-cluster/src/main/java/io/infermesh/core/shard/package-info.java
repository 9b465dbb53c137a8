/**
 * Pipeline sharding: a model split by layer ranges over N core nodes, linked by the
 * {@code infermesh.v1.Shard} stream. Stage 0 schedules, embeds and runs its layers
 * ({@link io.infermesh.core.shard.PipelineRunner}), keeping up to N micro-batches in flight;
 * each later stage runs its layers on the hidden states it receives
 * ({@link io.infermesh.core.shard.ShardService}); the last one samples, and the tokens travel back
 * along the chain. A stage that goes away fails every step in flight (UNAVAILABLE), and stage 0
 * reports NOT_SERVING until the pipeline is whole again.
 */
package io.infermesh.core.shard;
