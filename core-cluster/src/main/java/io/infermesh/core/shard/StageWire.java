package io.infermesh.core.shard;

import com.google.protobuf.ByteString;
import io.infermesh.api.v1.HiddenStates;
import io.infermesh.api.v1.SamplingParams;
import io.infermesh.api.v1.SlotRange;
import io.infermesh.api.v1.StageRequest;
import io.infermesh.api.v1.StageSequence;
import io.infermesh.api.v1.StageStep;
import io.infermesh.core.engine.ForwardBatch;
import io.infermesh.core.schedule.StepPlan;
import io.infermesh.core.status.CoreException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The shard wire format: steps and hidden states to and from {@code infermesh.v1} messages. Hidden
 * states travel as packed little-endian float32 rows, split over several messages so none exceeds
 * {@link #MAX_HIDDEN_BYTES} (gRPC's default inbound limit is 4 MiB); slot lists travel as runs of
 * consecutive slots. Stateless.
 */
final class StageWire {
  /** Most hidden-state bytes in one message. */
  static final int MAX_HIDDEN_BYTES = 2 << 20;

  private StageWire() {}

  /**
   * The messages of one step: a {@link StageStep} with the sequences and the first rows of
   * {@code hidden} {@code (N, dim)}, then {@link HiddenStates} with the rest.
   */
  static List<StageRequest> step(long stepId, StepPlan plan, float[] hidden, int dim) {
    StageStep.Builder step = StageStep.newBuilder().setStepId(stepId);
    for (StepPlan.Entry e : plan.entries()) {
      StageSequence.Builder s = StageSequence.newBuilder()
          .setRequestId(e.requestId())
          .setStartPosition(e.startPosition())
          .setNewTokens(e.tokens().length)
          .addAllWriteSlots(ranges(e.writeSlots()))
          .addAllReadSlots(ranges(e.readSlots()))
          .setSample(e.samples());
      if (e.samples()) {
        s.setSampling(sampling(e.sampling()));
      }
      step.addSequences(s);
    }
    return messages(step, hidden, dim);
  }

  /**
   * {@code header} (a step without hidden states) with {@code hidden} {@code (N, dim)}: the step
   * with the first rows, then {@link HiddenStates} with the rest.
   */
  static List<StageRequest> messages(StageStep.Builder header, float[] hidden, int dim) {
    StageStep.Builder step = header;
    int rows = hidden.length / dim;
    int perMessage = Math.max(1, MAX_HIDDEN_BYTES / (dim * Float.BYTES));
    List<StageRequest> out = new ArrayList<>();
    int first = Math.min(rows, perMessage);
    out.add(StageRequest.newBuilder().setStep(step.setHidden(pack(hidden, 0, first, dim))).build());
    for (int from = first; from < rows; from += perMessage) {
      out.add(StageRequest.newBuilder().setHidden(pack(hidden, from, Math.min(perMessage, rows - from), dim)).build());
    }
    return out;
  }

  static SamplingParams sampling(io.infermesh.core.engine.SamplingParams p) {
    // the penalties travel so the last stage samples as a whole model would; log-probabilities do not
    return SamplingParams.newBuilder().setTemperature(p.temperature()).setTopK(p.topK()).setTopP(p.topP())
        .setSeed(p.seed()).setPresencePenalty(p.penalties().presence())
        .setFrequencyPenalty(p.penalties().frequency()).putAllLogitBias(p.penalties().logitBias()).build();
  }

  static io.infermesh.core.engine.SamplingParams sampling(SamplingParams p) {
    return new io.infermesh.core.engine.SamplingParams(p.getTemperature(), p.getTopK(), p.getTopP(), p.getSeed(),
        new io.infermesh.core.engine.Penalties(p.getPresencePenalty(), p.getFrequencyPenalty(), p.getLogitBiasMap()),
        -1);
  }

  /** Rows {@code [from, from + rows)} of {@code data} {@code (*, dim)} as little-endian float32. */
  static HiddenStates pack(float[] data, int from, int rows, int dim) {
    ByteBuffer buf = ByteBuffer.allocate(rows * dim * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    buf.asFloatBuffer().put(data, from * dim, rows * dim);
    return HiddenStates.newBuilder().addShape(rows).addShape(dim).setData(ByteString.copyFrom(buf.array())).build();
  }

  /**
   * Copies {@code h} into {@code into} at row {@code row}.
   *
   * @return rows copied
   * @throws CoreException (INVALID_ARGUMENT) if the shape is not {@code [rows, dim]}, the data does not
   *     match it, or it overflows {@code into}
   */
  static int unpack(HiddenStates h, int dim, float[] into, int row) {
    if (h.getShapeCount() != 2 || h.getShape(1) != dim || h.getShape(0) < 0) {
      throw CoreException.of(CoreException.Kind.INVALID_ARGUMENT, "hidden.shape must be [rows, " + dim + "], got " + h.getShapeList());
    }
    int rows = h.getShape(0);
    if (h.getData().size() != rows * dim * Float.BYTES) {
      throw CoreException.of(CoreException.Kind.INVALID_ARGUMENT, "hidden.data holds " + h.getData().size() + " bytes, shape "
          + h.getShapeList() + " needs " + rows * dim * Float.BYTES);
    }
    if ((long) (row + rows) * dim > into.length) {
      throw CoreException.of(CoreException.Kind.INVALID_ARGUMENT, "hidden states exceed the step's new tokens");
    }
    h.getData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(into, row * dim, rows * dim);
    return rows;
  }

  /** {@code slots} as runs of consecutive slots. */
  static List<SlotRange> ranges(long[] slots) {
    List<SlotRange> out = new ArrayList<>();
    int i = 0;
    while (i < slots.length) {
      int j = i + 1;
      while (j < slots.length && slots[j] == slots[j - 1] + 1) {
        j++;
      }
      out.add(SlotRange.newBuilder().setStart(slots[i]).setCount(j - i).build());
      i = j;
    }
    return out;
  }

  /** The slots of {@code ranges}, which must add up to {@code expected}. */
  static long[] slots(List<SlotRange> ranges, int expected, String field) {
    long[] out = new long[expected];
    int at = 0;
    for (SlotRange r : ranges) {
      if (r.getCount() <= 0 || r.getStart() < 0 || at + r.getCount() > expected) {
        throw CoreException.of(CoreException.Kind.INVALID_ARGUMENT, field + ": ranges must be positive and add up to " + expected);
      }
      for (int k = 0; k < r.getCount(); k++) {
        out[at++] = r.getStart() + k;
      }
    }
    if (at != expected) {
      throw CoreException.of(CoreException.Kind.INVALID_ARGUMENT, field + ": ranges add up to " + at + ", expected " + expected);
    }
    return out;
  }

  /** New tokens of the whole step. */
  static int tokenCount(StageStep step) {
    long n = 0;
    for (StageSequence s : step.getSequencesList()) {
      if (s.getNewTokens() <= 0) {
        throw CoreException.of(CoreException.Kind.INVALID_ARGUMENT, "sequences["
            + io.infermesh.core.status.ClientText.bounded(s.getRequestId()) + "].new_tokens must be positive");
      }
      n += s.getNewTokens();
    }
    if (n > Integer.MAX_VALUE / 8) {
      throw CoreException.of(CoreException.Kind.INVALID_ARGUMENT, "step has too many new tokens: " + n);
    }
    return (int) n;
  }

  /** The step as an engine batch for a stage that takes hidden states (no token ids). */
  static ForwardBatch batch(StageStep step) {
    List<StageSequence> seqs = step.getSequencesList();
    if (seqs.isEmpty()) {
      throw CoreException.of(CoreException.Kind.INVALID_ARGUMENT, "step " + step.getStepId() + " has no sequences");
    }
    int n = tokenCount(step);
    int[] positions = new int[n];
    long[] write = new long[n];
    int[] offsets = new int[seqs.size() + 1];
    long[][] read = new long[seqs.size()][];
    int at = 0;
    for (int i = 0; i < seqs.size(); i++) {
      StageSequence s = seqs.get(i);
      if (s.getStartPosition() < 0) {
        throw CoreException.of(CoreException.Kind.INVALID_ARGUMENT, "sequences[" + i + "].start_position must not be negative");
      }
      offsets[i] = at;
      long[] w = slots(s.getWriteSlotsList(), s.getNewTokens(), "sequences[" + i + "].write_slots");
      System.arraycopy(w, 0, write, at, w.length);
      for (int k = 0; k < s.getNewTokens(); k++) {
        positions[at + k] = s.getStartPosition() + k;
      }
      at += s.getNewTokens();
      read[i] = slots(s.getReadSlotsList(), s.getStartPosition() + s.getNewTokens(), "sequences[" + i + "].read_slots");
    }
    offsets[seqs.size()] = n;
    return new ForwardBatch(new int[0], positions, write, offsets, read);
  }
}
