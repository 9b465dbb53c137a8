package io.infermesh.models.jinja;

import java.util.LinkedHashMap;
import java.util.Map;

/** {@code namespace(...)}: the one mutable object a template can assign attributes of across scopes. */
final class Namespace {
  final Map<String, Object> attributes = new LinkedHashMap<>();
}
