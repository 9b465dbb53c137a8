/**
 * Paged KV-cache bookkeeping: a preallocated pool of fixed-size blocks and per-sequence block
 * tables mapping positions to slots. Plain Java; the engine holds the tensors these slots address.
 */
package io.infermesh.core.kv;
