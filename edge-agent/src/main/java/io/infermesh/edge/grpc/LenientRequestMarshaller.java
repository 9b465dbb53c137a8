package io.infermesh.edge.grpc;

import io.grpc.MethodDescriptor;
import io.grpc.StatusRuntimeException;
import io.infermesh.api.v1.GenerateRequest;
import java.io.InputStream;

/**
 * Parses {@code GenerateRequest}s like the generated marshaller, but turns an unparseable message
 * (invalid UTF-8 in a string field, a malformed encoding) into a marker instance the service
 * answers with INVALID_ARGUMENT — grpc-java would otherwise answer UNKNOWN. Thread-safe.
 */
final class LenientRequestMarshaller implements MethodDescriptor.Marshaller<GenerateRequest> {
  /** Stands for a request with invalid UTF-8 in a string field; compared by identity. */
  static final GenerateRequest INVALID_UTF8 = GenerateRequest.newBuilder().setRequestId("\u0000invalid-utf8").build();
  /** Stands for a request that is not a valid protobuf encoding; compared by identity. */
  static final GenerateRequest MALFORMED = GenerateRequest.newBuilder().setRequestId("\u0000malformed").build();

  private final MethodDescriptor.Marshaller<GenerateRequest> delegate;

  LenientRequestMarshaller(MethodDescriptor.Marshaller<GenerateRequest> delegate) {
    this.delegate = delegate;
  }

  @Override
  public InputStream stream(GenerateRequest value) {
    return delegate.stream(value);
  }

  @Override
  public GenerateRequest parse(InputStream stream) {
    try {
      return delegate.parse(stream);
    } catch (StatusRuntimeException e) {
      for (Throwable t = e; t != null; t = t.getCause()) {
        if (t.getMessage() != null && t.getMessage().contains("UTF-8")) {
          return INVALID_UTF8;
        }
      }
      return MALFORMED;
    }
  }
}
