package io.infermesh.node.grpc;

import io.grpc.Metadata;

/**
 * The version pin every mesh server reads the same way: {@code x-infermesh-model-version} (HTTP
 * header and gRPC metadata; the header the control plane's routes split versions on, {@code
 * pin_header} in mesh.yaml) and the {@code model-version} hint, with one grammar: 1 to {@value
 * #MAX_LENGTH} characters of {@code [A-Za-z0-9._:+-]}, checked in linear time. What a node does
 * with a pin is its own (the edge in {@code VersionPin}, the core in {@code ModelVersionPin}).
 */
public final class VersionPinHeader {
  /** The header and metadata key. */
  public static final String HEADER = "x-infermesh-model-version";
  /** The {@code GenerateRequest.hints} key. */
  public static final String HINT = "model-version";
  /** The longest pin accepted. */
  public static final int MAX_LENGTH = 128;
  /** {@link #HEADER} as ASCII gRPC metadata. */
  public static final Metadata.Key<String> KEY = Metadata.Key.of(HEADER, Metadata.ASCII_STRING_MARSHALLER);
  /** What a refusal of a malformed pin says. */
  public static final String RULE = "a model version is 1 to " + MAX_LENGTH
      + " characters of letters, digits and . _ : + -";

  private VersionPinHeader() {}

  /** Whether {@code value} is a pin by the grammar above. */
  public static boolean wellFormed(String value) {
    if (value == null || value.isEmpty() || value.length() > MAX_LENGTH) {
      return false;
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || ".-_:+".indexOf(c) >= 0)) {
        return false;
      }
    }
    return true;
  }
}
