/**
 * Models for the mesh: what a model file says about the network it holds ({@link
 * io.infermesh.models.ModelMetadata}), with the file format in {@link io.infermesh.models.gguf},
 * tokenizers in {@link io.infermesh.models.tokenizer} and the deterministic tiny test models in
 * {@link io.infermesh.models.tiny}.
 *
 * <p>This module depends on no other infermesh module.
 */
package io.infermesh.models;
