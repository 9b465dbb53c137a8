package io.infermesh.models.jinja;

/**
 * A missing variable, attribute or item (Jinja2's default {@code Undefined}): prints as nothing,
 * is false, iterates as empty, and fails when its own attributes are read.
 */
record Undefined(String name) {
  @Override
  public String toString() {
    return "";
  }
}
