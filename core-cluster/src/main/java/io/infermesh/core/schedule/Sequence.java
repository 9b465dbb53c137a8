package io.infermesh.core.schedule;

import io.infermesh.core.engine.SamplingParams;
import io.infermesh.core.kv.BlockTable;
import java.util.Arrays;

/** Mutable state of one choice of a request inside the scheduler. Confined to the scheduler's thread. */
final class Sequence {
  final GenerationRequest request;
  final ChoiceGroup group;
  final int choice;
  final String id; // GenerationRequest#sequenceId
  final SamplingParams sampling;
  final long arrivalNanos;
  final BlockTable table;
  private int[] tokens; // prompt + generated
  int length;
  int computed; // positions whose KV is in the cache
  int generated;
  boolean running;
  boolean inFlight; // in a plan not completed yet
  int preemptions;
  int[] draft; // still to verify, with the last prefill chunk; null when none (or already verified)

  Sequence(ChoiceGroup group, int choice, long arrivalNanos, BlockTable table) {
    this.request = group.request;
    this.group = group;
    this.choice = choice;
    this.id = request.sequenceId(choice);
    this.sampling = request.sampling(choice);
    this.arrivalNanos = arrivalNanos;
    this.table = table;
    int[] prompt = request.prompt();
    this.tokens = Arrays.copyOf(prompt, prompt.length + Math.min(request.maxTokens(), 64));
    this.length = prompt.length;
    int[] d = request.draft();
    this.draft = choice == 0 && d.length > 0 ? d : null;
  }

  String id() {
    return id;
  }

  int promptLength() {
    return length - generated;
  }

  int remaining() {
    return length - computed;
  }

  void append(int token) {
    if (length == tokens.length) {
      tokens = Arrays.copyOf(tokens, tokens.length * 2);
    }
    tokens[length++] = token;
    generated++;
  }

  int[] tokens(int from, int to) {
    return Arrays.copyOfRange(tokens, from, to);
  }
}
