/** The core cluster: a DJL/PyTorch engine, a continuous-batching scheduler with a paged KV cache, pipeline stages and the mTLS gRPC server (see issue 4). */
package io.infermesh.core;
