package io.infermesh.certs;

import static java.util.Objects.requireNonNull;

import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Answers a request message that does not parse (not a protobuf encoding of the method's request
 * type, or a string field that is not UTF-8) with {@code INVALID_ARGUMENT}, before any handler
 * runs. grpc-java's own answer to a marshaller that throws is {@code UNKNOWN "Application error
 * processing RPC"}, which tells a client neither that the fault is its own nor not to retry.
 *
 * <p>{@link #guard} wraps every method of a service: its request marshaller returns {@code null}
 * instead of throwing, and its call listener turns that {@code null} into the refusal and hides
 * the rest of the call from the handler (which sees a cancelled call, so a streaming handler
 * cleans up as for a client that went away). {@link MeshServer} guards every service it serves,
 * health and reflection included. Stateless; thread-safe.
 */
public final class MalformedRequests {
  /** The description of the refusal; names no client bytes. */
  public static final String DESCRIPTION = "the request message does not parse as ";

  private MalformedRequests() {}

  /** {@code service} with every method guarded; reflection sees the same schema. */
  public static ServerServiceDefinition guard(ServerServiceDefinition service) {
    requireNonNull(service, "service");
    ServiceDescriptor original = service.getServiceDescriptor();
    ServiceDescriptor.Builder descriptor = ServiceDescriptor.newBuilder(original.getName())
        .setSchemaDescriptor(original.getSchemaDescriptor());
    List<ServerMethodDefinition<?, ?>> methods = new ArrayList<>();
    for (ServerMethodDefinition<?, ?> method : service.getMethods()) {
      ServerMethodDefinition<?, ?> guarded = guard(method);
      descriptor.addMethod(guarded.getMethodDescriptor());
      methods.add(guarded);
    }
    ServerServiceDefinition.Builder definition = ServerServiceDefinition.builder(descriptor.build());
    methods.forEach(definition::addMethod);
    return definition.build();
  }

  private static <Q, R> ServerMethodDefinition<Q, R> guard(ServerMethodDefinition<Q, R> definition) {
    MethodDescriptor<Q, R> method = definition.getMethodDescriptor();
    MethodDescriptor<Q, R> guarded = method.toBuilder(new NullOnFailure<>(method.getRequestMarshaller()),
        method.getResponseMarshaller()).build();
    String type = requestTypeName(method);
    ServerCallHandler<Q, R> handler = definition.getServerCallHandler();
    return ServerMethodDefinition.create(guarded,
        (call, headers) -> new Refusing<>(call, handler.startCall(call, headers), type));
  }

  private static String requestTypeName(MethodDescriptor<?, ?> method) {
    if (method.getRequestMarshaller() instanceof MethodDescriptor.PrototypeMarshaller<?> p
        && p.getMessagePrototype() != null) {
      return p.getMessagePrototype().getClass().getSimpleName();
    }
    return "the request type of " + method.getFullMethodName();
  }

  /** Parses like {@code delegate}; {@code null} where it would throw. */
  private static final class NullOnFailure<Q> implements MethodDescriptor.PrototypeMarshaller<Q> {
    private final MethodDescriptor.Marshaller<Q> delegate;

    NullOnFailure(MethodDescriptor.Marshaller<Q> delegate) {
      this.delegate = requireNonNull(delegate, "delegate");
    }

    @Override
    public InputStream stream(Q value) {
      return delegate.stream(value);
    }

    @Override
    public Q parse(InputStream stream) {
      try {
        return delegate.parse(stream);
      } catch (RuntimeException e) {
        return null;
      }
    }

    @Override
    public Q getMessagePrototype() {
      return delegate instanceof MethodDescriptor.PrototypeMarshaller<Q> p ? p.getMessagePrototype() : null;
    }

    @Override
    public Class<Q> getMessageClass() {
      return delegate instanceof MethodDescriptor.ReflectableMarshaller<Q> r ? r.getMessageClass() : null;
    }
  }

  /**
   * Forwards to the handler's listener until a message fails to parse; then closes the call with
   * INVALID_ARGUMENT, tells the handler the call is cancelled and forwards nothing more. Called
   * by gRPC one event at a time (the call's serializing executor), so {@code refused} needs no lock.
   */
  private static final class Refusing<Q, R> extends ForwardingServerCallListener.SimpleForwardingServerCallListener<Q> {
    private final ServerCall<Q, R> call;
    private final String type;
    private boolean refused;

    Refusing(ServerCall<Q, R> call, ServerCall.Listener<Q> delegate, String type) {
      super(delegate);
      this.call = call;
      this.type = type;
    }

    @Override
    public void onMessage(Q message) {
      if (refused) {
        return;
      }
      if (message == null) {
        refused = true;
        call.close(Status.INVALID_ARGUMENT.withDescription(DESCRIPTION + type
            + " (malformed protobuf, or a string field that is not UTF-8)"), new Metadata());
        super.onCancel();
        return;
      }
      super.onMessage(message);
    }

    @Override
    public void onHalfClose() {
      if (!refused) {
        super.onHalfClose();
      }
    }

    @Override
    public void onCancel() {
      if (!refused) {
        super.onCancel();
      }
    }

    @Override
    public void onComplete() {
      if (!refused) {
        super.onComplete();
      }
    }

    @Override
    public void onReady() {
      if (!refused) {
        super.onReady();
      }
    }
  }
}
