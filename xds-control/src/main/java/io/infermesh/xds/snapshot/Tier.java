package io.infermesh.xds.snapshot;

import java.util.Locale;

/** Who owns the capacity behind an endpoint: our own data centres, or a public cloud we burst to. */
public enum Tier {
  /** Capacity we own; always preferred. */
  PRIVATE,
  /** Rented public-cloud capacity; used last, or for burst overflow. */
  PUBLIC;

  /**
   * Parses {@code private} or {@code public}, any case.
   *
   * @throws IllegalArgumentException naming the accepted values
   */
  public static Tier parse(String text) {
    try {
      return valueOf(text.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException | NullPointerException e) {
      throw new IllegalArgumentException("tier must be private or public, was '" + text + "'");
    }
  }

  /** The lower-case name used in {@code mesh.yaml} and Consul tags. */
  public String yamlName() {
    return name().toLowerCase(Locale.ROOT);
  }
}
