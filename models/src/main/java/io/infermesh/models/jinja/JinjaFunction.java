package io.infermesh.models.jinja;

import java.util.List;
import java.util.Map;

/**
 * A function a template may call, given to it as a variable (Hugging Face's {@code raise_exception}
 * and {@code strftime_now} are two). Arguments arrive as the template's values: {@code String},
 * {@code Long}, {@code Double}, {@code Boolean}, {@code null} for {@code none}, {@code List},
 * {@code Map}.
 */
@FunctionalInterface
public interface JinjaFunction {
  /** The result of calling the function with {@code args} and keyword arguments {@code kwargs}. */
  Object call(List<Object> args, Map<String, Object> kwargs);
}
