/**
 * Paged KV-cache bookkeeping: a preallocated pool of fixed-size, reference-counted blocks and
 * per-sequence block tables mapping positions to slots; tables of one request's choices share the
 * prompt's full blocks read-only, and with prefix caching any sequence may start with the full
 * blocks another computed for the same leading tokens ({@link io.infermesh.core.kv.PrefixKey}),
 * which stay cached until the pool evicts them. Plain Java; the engine holds the tensors these
 * slots address.
 */
package io.infermesh.core.kv;
