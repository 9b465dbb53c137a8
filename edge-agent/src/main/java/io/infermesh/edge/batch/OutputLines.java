package io.infermesh.edge.batch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.security.SecureRandom;
import java.util.HexFormat;

/**
 * The lines of a batch's output and error files, in OpenAI's shape: {@code {"id": "batch_req_…",
 * "custom_id", "response": {"status_code", "request_id", "body"}, "error"}}. A request that was
 * answered (whatever its status) has a {@code response}; one that never ran has an {@code error}
 * ({@code code}, {@code message}) and a null response.
 */
public final class OutputLines {
  private static final SecureRandom RANDOM = new SecureRandom();

  private OutputLines() {}

  /** The line for a request answered with {@code status} and {@code body} (the answer, or OpenAI's error JSON). */
  public static ObjectNode response(String customId, int status, String requestId, JsonNode body) {
    ObjectNode line = start(customId);
    ObjectNode response = line.putObject("response");
    response.put("status_code", status);
    response.put("request_id", requestId);
    response.set("body", body);
    line.putNull("error");
    return line;
  }

  /** The line for a request that was not run. */
  public static ObjectNode error(String customId, String code, String message) {
    ObjectNode line = start(customId);
    line.putNull("response");
    line.putObject("error").put("code", code).put("message", message);
    return line;
  }

  private static ObjectNode start(String customId) {
    byte[] random = new byte[12];
    RANDOM.nextBytes(random);
    ObjectNode line = JsonNodeFactory.instance.objectNode();
    line.put("id", "batch_req_" + HexFormat.of().formatHex(random));
    line.put("custom_id", customId);
    return line;
  }
}
