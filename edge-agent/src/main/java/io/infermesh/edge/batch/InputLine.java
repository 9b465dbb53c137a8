package io.infermesh.edge.batch;

import static java.util.Objects.requireNonNull;

/**
 * One request line of a batch's input file, validated.
 *
 * @param number its line number in the file, from 1
 * @param customId the caller's id, unique in the file
 * @param body the request body, as compact JSON
 */
public record InputLine(int number, String customId, String body) {
  public InputLine {
    requireNonNull(customId, "customId");
    requireNonNull(body, "body");
  }
}
