package io.infermesh.edge.http;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.infermesh.edge.auth.Tenant;
import io.infermesh.edge.serve.CompletionService;
import io.infermesh.edge.serve.EdgeException;
import io.infermesh.edge.serve.EmbeddingService;
import io.infermesh.edge.serve.Embeddings;
import io.javalin.http.Context;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code POST /v1/embeddings}: {@code input} is a string or an array of 1 to {@value
 * EmbeddingService#MAX_INPUTS} strings (token arrays are refused: send text); {@code
 * encoding_format} {@code float} (the default) or {@code base64} (little-endian float32, as
 * OpenAI's); {@code dimensions} only as the model's own size (shortening is not supported);
 * {@code model} picks the tier ({@link EmbeddingService}); {@code user} goes to the debug log.
 * The body is bounded by {@code http.max_body_bytes}. Stateless; thread-safe.
 */
final class EmbeddingsEndpoint {
  private static final Logger log = LoggerFactory.getLogger(EmbeddingsEndpoint.class);
  // the front door's bounds on nesting, numbers and names, as for completions
  private static final ObjectMapper JSON = JsonMapper.builder(JsonLimits.factory()).build();

  private final CompletionService service;
  private final CompletionsEndpoint body;

  EmbeddingsEndpoint(CompletionService service, CompletionsEndpoint body) {
    this.service = requireNonNull(service, "service");
    this.body = requireNonNull(body, "body");
  }

  void handle(Context ctx) throws Exception {
    String requestId;
    Tenant tenant;
    JsonNode root;
    InfermeshHeaders.Parsed headers;
    try {
      requestId = CompletionsEndpoint.requestId(ctx);
      tenant = service.authenticate(ctx.header("Authorization"));
      headers = InfermeshHeaders.read(ctx.req()); // hints fail closed here too
      CompletionsEndpoint.requireJson(ctx);
      root = parse(body.readBody(ctx));
    } catch (EdgeException e) {
      service.rejected(e.kind());
      throw e;
    } catch (HttpProblem e) {
      service.rejected(EdgeException.Kind.INVALID_ARGUMENT);
      throw e;
    }
    Embeddings result = embed(root, requestId, headers.hints(), tenant);
    ObjectNode out = render(result, encoding(root.get("encoding_format")));
    if (!requestId.isEmpty()) {
      ctx.header("x-request-id", requestId);
    }
    ctx.header("x-infermesh-route", result.route().route().wireName());
    ctx.header("x-infermesh-reason", result.route().reason());
    byte[] bytes = out.toString().getBytes(StandardCharsets.UTF_8);
    ctx.status(200);
    ctx.contentType("application/json");
    ctx.res().setContentLength(bytes.length);
    try (OutputStream o = ctx.res().getOutputStream()) {
      o.write(bytes);
    } catch (IOException e) {
      log.debug("embeddings request {}: client went away ({})", requestId, e.toString());
    }
  }

  /** Checks {@code root} (a parsed request body) and embeds its inputs as {@code tenant}. */
  Embeddings embed(JsonNode root, String requestId, Map<String, String> hints, Tenant tenant)
      throws InterruptedException {
    String user = OpenAiFields.embeddings(root);
    if (!user.isEmpty()) {
      log.debug("embeddings request {}: user {}", requestId, user);
    }
    List<String> inputs = inputs(root.get("input"));
    encoding(root.get("encoding_format"));
    String model = root.path("model").isTextual() ? root.get("model").textValue() : "";
    if (root.has("model") && !root.get("model").isTextual() && !root.get("model").isNull()) {
      throw EdgeException.invalid("model", "model: must be a string");
    }
    Embeddings result = service.embeddings().embed(requestId, inputs, model, hints, tenant);
    checkDimensions(root.get("dimensions"), result);
    return result;
  }

  /** OpenAI's answer for {@code result}: the vectors as numbers, or base64 little-endian float32. */
  static ObjectNode render(Embeddings result, boolean base64) {
    ObjectNode out = JSON.createObjectNode();
    out.put("object", "list");
    ArrayNode data = out.putArray("data");
    for (int i = 0; i < result.vectors().size(); i++) {
      ObjectNode item = data.addObject();
      item.put("object", "embedding");
      item.put("index", i);
      float[] v = result.vectors().get(i);
      if (base64) {
        ByteBuffer buf = ByteBuffer.allocate(v.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(v);
        item.put("embedding", Base64.getEncoder().encodeToString(buf.array()));
      } else {
        ArrayNode values = item.putArray("embedding");
        for (float x : v) {
          values.add(x);
        }
      }
    }
    out.put("model", result.model());
    out.putObject("usage").put("prompt_tokens", result.promptTokens()).put("total_tokens", result.promptTokens());
    return out;
  }

  static JsonNode parse(byte[] bytes) {
    JsonNode root;
    try (JsonParser parser = JSON.createParser(bytes)) {
      root = JSON.readTree(parser);
    } catch (IOException e) {
      throw new HttpProblem(400, null, "Invalid JSON body: " + e.getMessage().lines().findFirst().orElse(""));
    }
    if (root == null || !root.isObject()) {
      throw new HttpProblem(400, null, "Invalid JSON body: expected a JSON object");
    }
    return root;
  }

  private static List<String> inputs(JsonNode node) {
    if (node == null || node.isNull()) {
      throw EdgeException.invalid("input", "input: is required");
    }
    if (node.isTextual()) {
      return List.of(node.textValue());
    }
    if (!node.isArray()) {
      throw EdgeException.invalid("input", "input: must be a string or an array of strings");
    }
    if (node.size() > EmbeddingService.MAX_INPUTS) {
      throw EdgeException.invalid("input", "input: must hold at most " + EmbeddingService.MAX_INPUTS + " texts, got "
          + node.size());
    }
    List<String> out = new ArrayList<>(node.size());
    for (int i = 0; i < node.size(); i++) {
      JsonNode item = node.get(i);
      if (item.isNumber() || item.isArray()) {
        throw EdgeException.invalid("input", "input: token arrays are not supported by this server; send text");
      }
      if (!item.isTextual()) {
        throw EdgeException.invalid("input", "input[" + i + "]: must be a string");
      }
      out.add(item.textValue());
    }
    return out;
  }

  /** Whether the vectors go out as base64; {@code float} (or unset) means JSON numbers. */
  static boolean encoding(JsonNode node) {
    if (node == null || node.isNull()) {
      return false;
    }
    if (node.isTextual() && node.textValue().equals("float")) {
      return false;
    }
    if (node.isTextual() && node.textValue().equals("base64")) {
      return true;
    }
    throw EdgeException.invalid("encoding_format", "encoding_format: must be float or base64, got " + node);
  }

  /** {@code dimensions} is accepted only as the model's own size: this server does not shorten vectors. */
  private static void checkDimensions(JsonNode node, Embeddings result) {
    if (node == null || node.isNull()) {
      return;
    }
    int size = result.vectors().isEmpty() ? 0 : result.vectors().get(0).length;
    if (!node.isIntegralNumber() || node.intValue() != size) {
      throw EdgeException.invalid("dimensions", "dimensions: shortening embeddings is not supported; this model's"
          + " embeddings have " + size + " dimensions, got " + node);
    }
  }
}
