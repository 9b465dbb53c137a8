package io.infermesh.edge.upstream;

import static java.util.Objects.requireNonNull;

import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.config.LocalEngine;
import io.infermesh.edge.engine.ChatMessage;
import io.infermesh.edge.engine.Engine;
import io.infermesh.edge.engine.EngineException;
import io.infermesh.edge.engine.Generation;
import io.infermesh.edge.engine.ModelInfo;
import io.infermesh.edge.engine.Prompt;
import io.infermesh.edge.engine.PromptException;
import io.infermesh.edge.engine.SamplingParams;
import io.infermesh.edge.serve.EdgeException;
import io.infermesh.models.chat.ChatTemplates;
import io.infermesh.models.chat.ChatTurn;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The edge's local tier served by an OpenAI-compatible server ({@code engine.type: upstream}):
 * llama-server, Ollama, vLLM, or another infermesh edge. A chat goes to {@code
 * /v1/chat/completions} as its messages (the server applies its model's own chat template), a raw
 * prompt to {@code /v1/completions}; both stream, and each event's text is handed to the edge's
 * reader as it arrives (see {@link UpstreamGeneration}).
 *
 * <p>What needs the model in this process is refused, never approximated silently: constrained
 * decoding ({@code response_format}, {@code tools}) is a 400 naming the field, token ids
 * ({@link #knowsTokenIds()}) are not reported. Prompt lengths before generation are estimated from
 * the UTF-8 length ({@link #estimateTokens}); the usage clients see and quotas settle is the
 * server's own. {@link ModelInfo#version()} is a digest of the URL and model name: the edge cannot
 * read the server's weights.
 *
 * <p>At most {@code max_concurrency} generations run at once (the edge's admission slots), so at
 * most as many connections are open to the server. Thread-safe.
 */
public final class UpstreamEngine implements Engine {
  private static final Logger log = LoggerFactory.getLogger(UpstreamEngine.class);
  /**
   * UTF-8 bytes per token assumed before the server counts: about what BPE vocabularies average on
   * English, fewer tokens than code or CJK text takes, so near the context the server's own check
   * (its 400, passed through) decides rather than the edge refusing what the server would take.
   */
  static final int BYTES_PER_TOKEN = 4;

  private final URI base;
  private final String model;
  private final Duration timeout;
  private final Optional<String> authorization;
  private final UpstreamConnections connections;
  private final ModelInfo info;
  private final UpstreamErrors errors;
  private final Semaphore slots;

  private UpstreamEngine(URI base, String model, Duration timeout, Optional<String> authorization, ModelInfo info,
      int maxConcurrency) {
    this.base = base;
    this.model = model;
    this.timeout = timeout;
    this.authorization = authorization;
    this.info = info;
    this.errors = new UpstreamErrors(base, authorization.isPresent());
    this.slots = new Semaphore(maxConcurrency);
    // llama-server, Ollama and vLLM speak HTTP/1.1; a connection is opened within 10 s at most
    this.connections = new UpstreamConnections(base,
        (int) Math.max(1, (timeout.compareTo(Duration.ofSeconds(10)) < 0 ? timeout : Duration.ofSeconds(10)).toMillis()),
        maxConcurrency);
  }

  /**
   * The engine forwarding to {@code upstream}, serving as {@code model.name} with {@code
   * model.context_size} tokens per request. Nothing is sent until the first request: the server
   * may start after the edge.
   *
   * @param env looks up {@code engine.upstream.api_key_env} (e.g. {@code System::getenv})
   * @throws io.infermesh.node.config.ConfigException naming {@code engine.upstream.api_key_env}
   *     when its variable is unusable
   */
  public static UpstreamEngine connect(LocalEngine.Upstream upstream, EdgeConfig.Model model,
      UnaryOperator<String> env) {
    requireNonNull(upstream, "upstream");
    requireNonNull(model, "model");
    String name = model.effectiveName();
    String sent = upstream.modelOr(name);
    Optional<String> authorization = upstream.apiKey(env).map(key -> "Bearer " + key);
    URI base = URI.create(upstream.url().toString().replaceAll("/+$", "").replaceAll("/v1$", "") + "/");
    String sha256 = sha256(base + " " + sent);
    ModelInfo info = new ModelInfo(name, sha256.substring(0, 12), sha256, model.contextSize(),
        upstream.maxConcurrency(), "upstream");
    log.info("local engine: upstream {} (model {}), {} at once, context {} tokens, timeout {}", base, sent,
        upstream.maxConcurrency(), model.contextSize(), upstream.timeout());
    return new UpstreamEngine(base, sent, upstream.timeout(), authorization, info, upstream.maxConcurrency());
  }

  @Override
  public ModelInfo info() {
    return info;
  }

  /** The server's base URL. */
  public URI base() {
    return base;
  }

  /**
   * {@inheritDoc}
   *
   * <p>The text is the chat in ChatML (what a continuation after a core failure extends); the
   * messages themselves are sent.
   *
   * @throws PromptException for turns that involve tools: tool calling runs in the in-process engine
   */
  @Override
  public Prompt renderChat(List<ChatMessage> messages) {
    List<ChatTurn> turns = new ArrayList<>(messages.size());
    for (int i = 0; i < messages.size(); i++) {
      ChatMessage m = messages.get(i);
      if (m.toolForm().isPresent()) {
        throw new PromptException("messages[" + i + "]: turns with tools are rendered and parsed by the in-process"
            + " engine; this edge's local tier is an upstream server (engine.type: upstream). Send model: core", null);
      }
      turns.add(new ChatTurn(m.role().wireName(), m.content()));
    }
    String text = ChatTemplates.FALLBACK.render(turns, List.of());
    return new Prompt(text, estimateTokens(text), messages);
  }

  @Override
  public Prompt rawPrompt(String text) {
    return new Prompt(text, estimateTokens(text));
  }

  /** A prompt's length before the server counts it: UTF-8 bytes over {@link #BYTES_PER_TOKEN}, rounded up. Linear. */
  static int estimateTokens(String text) {
    long bytes = 0;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      bytes += c < 0x80 ? 1 : c < 0x800 || Character.isSurrogate(c) ? 2 : 3;
    }
    return (int) Math.min(Integer.MAX_VALUE, (bytes + BYTES_PER_TOKEN - 1) / BYTES_PER_TOKEN);
  }

  /** {@inheritDoc} Not with an upstream: the server's token ids are not reported to the edge. */
  @Override
  public int[] tokenize(String text) {
    throw new EngineException("token ids are not available from an upstream server (engine.type: upstream)", null);
  }

  @Override
  public boolean knowsTokenIds() {
    return false;
  }

  /**
   * {@inheritDoc}
   *
   * <p>Returns once the request is sent (a refused connection is thrown here); the server's answer
   * (or a 4xx with its message) is read by the generation's first {@link Generation#next()}.
   *
   * @throws EdgeException INVALID_ARGUMENT for a constrained request ({@code response_format},
   *     {@code tools}); UNAVAILABLE when more than {@code max_concurrency} generations would run or
   *     the server cannot be reached
   */
  @Override
  public Generation start(Prompt prompt, SamplingParams sampling, BooleanSupplier cancelled) {
    if (sampling.grammar().isPresent()) {
      throw EdgeException.invalid("response_format", "response_format, tools: constrained decoding runs in the"
          + " in-process engine; this edge's local tier is an upstream server (engine.type: upstream), which is"
          + " not asked to constrain. Drop the field, or send model: core");
    }
    if (!slots.tryAcquire()) { // admission holds requests to max_concurrency: a bug if reached
      throw EdgeException.unavailable("more generations than engine.upstream.max_concurrency; retry");
    }
    boolean chat = !prompt.chat().isEmpty();
    UpstreamGeneration generation = new UpstreamGeneration(chat, prompt.tokens(), cancelled,
        System.nanoTime() + timeout.toNanos(), errors, connections, slots::release);
    try {
      generation.send(request(chat ? "v1/chat/completions" : "v1/completions", UpstreamBody.of(model, prompt, sampling)));
    } catch (RuntimeException e) {
      generation.close();
      throw e;
    }
    return generation;
  }

  /** One HTTP/1.1 POST of {@code json} to {@code path} (relative to the base URL), head and body in one array. */
  private byte[] request(String path, byte[] json) {
    StringBuilder head = new StringBuilder(256).append("POST ").append(base.resolve(path).getRawPath())
        .append(" HTTP/1.1\r\nHost: ").append(connections.authority())
        .append("\r\nUser-Agent: infermesh-edge\r\nContent-Type: application/json\r\nAccept: text/event-stream")
        .append("\r\nContent-Length: ").append(json.length).append("\r\n");
    authorization.ifPresent(a -> head.append("Authorization: ").append(a).append("\r\n"));
    byte[] h = head.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1);
    byte[] request = Arrays.copyOf(h, h.length + json.length);
    System.arraycopy(json, 0, request, h.length, json.length);
    return request;
  }

  /** Closes the idle connections; running generations keep theirs until they end. Idempotent. */
  @Override
  public void close() {
    connections.close();
    log.debug("upstream engine for {} closed", base);
  }

  private static String sha256(String text) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }
}
