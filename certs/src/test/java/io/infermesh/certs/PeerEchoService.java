package io.infermesh.certs;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.infermesh.api.v1.InferenceGrpc;
import io.infermesh.api.v1.ListModelsRequest;
import io.infermesh.api.v1.ListModelsResponse;
import io.infermesh.api.v1.ModelInfo;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A test {@code infermesh.v1.Inference}: {@code ListModels} answers one model named after the
 * caller's SPIFFE ID as the authorization interceptor put it in the context, and counts the calls
 * that reached it.
 */
final class PeerEchoService extends InferenceGrpc.InferenceImplBase {
  final AtomicInteger calls = new AtomicInteger();

  @Override
  public void listModels(ListModelsRequest request, StreamObserver<ListModelsResponse> responses) {
    calls.incrementAndGet();
    String peer = RoleAuthorizationInterceptor.currentPeer().map(SpiffeId::toString).orElse(null);
    if (peer == null) {
      responses.onError(Status.INTERNAL.withDescription("no peer identity in the context").asRuntimeException());
      return;
    }
    responses.onNext(ListModelsResponse.newBuilder().addModels(ModelInfo.newBuilder().setName(peer)).build());
    responses.onCompleted();
  }
}
