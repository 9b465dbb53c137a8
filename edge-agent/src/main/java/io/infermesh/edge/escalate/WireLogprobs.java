package io.infermesh.edge.escalate;

import io.infermesh.api.v1.TokenLogprob;
import io.infermesh.api.v1.TopLogprob;
import java.util.ArrayList;
import java.util.List;

/** Log-probabilities between the wire ({@code GenerateChunk.logprobs}) and the edge's events. Stateless. */
public final class WireLogprobs {
  private WireLogprobs() {}

  /** The core's log-probabilities as the edge reports them. */
  public static List<io.infermesh.edge.serve.TokenLogprob> fromWire(List<TokenLogprob> wire) {
    List<io.infermesh.edge.serve.TokenLogprob> out = new ArrayList<>(wire.size());
    for (TokenLogprob lp : wire) {
      List<io.infermesh.edge.serve.TokenLogprob> top = new ArrayList<>(lp.getTopLogprobsCount());
      for (TopLogprob t : lp.getTopLogprobsList()) {
        top.add(new io.infermesh.edge.serve.TokenLogprob(t.getToken(), t.getLogprob(), t.getBytes().toByteArray(),
            List.of()));
      }
      out.add(new io.infermesh.edge.serve.TokenLogprob(lp.getToken(), lp.getLogprob(), lp.getBytes().toByteArray(),
          top));
    }
    return out;
  }

  /** The edge's log-probabilities as a chunk carries them (the edge's gRPC API relays the core's). */
  public static List<TokenLogprob> toWire(List<io.infermesh.edge.serve.TokenLogprob> logprobs) {
    List<TokenLogprob> out = new ArrayList<>(logprobs.size());
    for (io.infermesh.edge.serve.TokenLogprob lp : logprobs) {
      TokenLogprob.Builder b = TokenLogprob.newBuilder().setToken(lp.token()).setLogprob((float) lp.logprob())
          .setBytes(com.google.protobuf.ByteString.copyFrom(lp.bytes()));
      for (io.infermesh.edge.serve.TokenLogprob t : lp.top()) {
        b.addTopLogprobs(TopLogprob.newBuilder().setToken(t.token()).setLogprob((float) t.logprob())
            .setBytes(com.google.protobuf.ByteString.copyFrom(t.bytes())));
      }
      out.add(b.build());
    }
    return out;
  }
}
