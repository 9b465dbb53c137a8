package io.infermesh.edge.http;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.infermesh.edge.batch.BatchService;
import io.infermesh.edge.calibrate.OnlineCalibration;
import io.infermesh.edge.calibrate.ShadowEscalation;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.edge.config.Limits;
import io.infermesh.edge.engine.PromptException;
import io.infermesh.edge.serve.CompletionService;
import io.infermesh.edge.serve.EdgeException;
import io.infermesh.edge.serve.ListedModel;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import javax.net.ssl.SSLContext;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.ServerConnector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The OpenAI-compatible HTTP API on Javalin: {@code /v1/chat/completions}, {@code /v1/completions},
 * {@code /v1/embeddings}, {@code /v1/models}, plus {@code /healthz} (the process is up), {@code /readyz} (the model is
 * loaded and the agent is not draining) and {@code /metrics} (Prometheus text). Every error,
 * unknown paths included, is OpenAI error JSON. Thread-safe.
 */
public final class HttpApi implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(HttpApi.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int RESULT_COPY_BYTES = 2048;

  private final Javalin app;
  private final Clock clock;
  private final InFlight inFlight;

  private HttpApi(Javalin app, Clock clock, InFlight inFlight) {
    this.app = app;
    this.clock = clock;
    this.inFlight = inFlight;
  }

  /**
   * Starts serving on {@code host} and {@code settings.port()} (port 0 picks a free one).
   *
   * @param metrics produces the Prometheus exposition text for {@code /metrics}
   * @param settings port, body limit and SSE flush interval ({@code settings.host()} is not used:
   *     the caller decides the bind address)
   * @param host the address to bind
   * @param idleTimeout how long a connection may stay silent (a request being answered is not affected)
   */
  public static HttpApi start(CompletionService service, Supplier<String> metrics, EdgeConfig.Http settings,
      String host, Duration idleTimeout, Clock clock) {
    return start(service, metrics, settings, host, idleTimeout, clock, Optional.empty());
  }

  /**
   * Starts serving as {@link #start(CompletionService, Supplier, EdgeConfig.Http, String, Duration,
   * Clock)} does, over HTTPS when {@code tls} is present: its context (kept current by its owner, so
   * new connections get a rotated certificate) and {@code settings.tls()}'s client certificate rule.
   *
   * @throws IllegalArgumentException when {@code tls} and {@code settings.tls()} are not both set or both empty
   */
  public static HttpApi start(CompletionService service, Supplier<String> metrics, EdgeConfig.Http settings,
      String host, Duration idleTimeout, Clock clock, Optional<SSLContext> tls) {
    return start(service, metrics, settings, host, Limits.DEFAULT.withTimeouts(Limits.DEFAULT.headerTimeout(),
        idleTimeout), clock, tls);
  }

  /**
   * Starts serving as above, with the front door's connection bounds ({@link FrontDoor}: header
   * and idle timeouts, the connection limit, Jetty's errors as OpenAI JSON) from {@code limits}.
   *
   * @throws IllegalArgumentException when {@code tls} and {@code settings.tls()} are not both set or both empty
   */
  public static HttpApi start(CompletionService service, Supplier<String> metrics, EdgeConfig.Http settings,
      String host, Limits limits, Clock clock, Optional<SSLContext> tls) {
    return start(service, metrics, settings, host, limits, clock, tls, Optional.empty());
  }

  /**
   * Starts serving as above, plus OpenAI's Files and Batch APIs ({@link BatchEndpoints}) when
   * {@code batches} is present.
   */
  public static HttpApi start(CompletionService service, Supplier<String> metrics, EdgeConfig.Http settings,
      String host, Limits limits, Clock clock, Optional<SSLContext> tls, Optional<BatchService> batches) {
    requireNonNull(service, "service");
    requireNonNull(batches, "batches");
    requireNonNull(limits, "limits");
    requireNonNull(tls, "tls");
    if (tls.isPresent() != settings.secure()) {
      throw new IllegalArgumentException("an SSL context is needed exactly when http.tls is set");
    }
    requireNonNull(metrics, "metrics");
    requireNonNull(settings, "settings");
    requireNonNull(clock, "clock");
    int port = settings.port();
    long maxBodyBytes = settings.maxBodyBytes();
    CompletionsEndpoint completions = new CompletionsEndpoint(service, maxBodyBytes,
        settings.streamFlushInterval(), clock);
    long loadedAt = clock.instant().getEpochSecond();
    int selectors = settings.effectiveSelectors(Runtime.getRuntime().availableProcessors());
    Javalin app = Javalin.create(config -> {
      config.showJavalinBanner = false;
      config.startupWatcherEnabled = false;
      config.http.disableCompression();
      config.http.maxRequestSize = maxBodyBytes;
      config.jetty.threadPool = FrontDoor.threadPool(settings.maxThreads());
      // Javalin copies each ctx.result() to the response through a new buffer of this size (32 KiB unless set,
      // 74% of /healthz's allocation); the edge's results are small JSON, and Jetty buffers the output itself
      config.http.responseBufferSize = RESULT_COPY_BYTES;
      config.jetty.modifyServer(server -> FrontDoor.guard(server, limits));
      batches.ifPresent(b -> BatchEndpoints.configure(config, b.maxFileBytes()));
      config.jetty.addConnector((server, httpConfig) -> {
        httpConfig.setSendServerVersion(false);
        ServerConnector connector = tls.isPresent()
            ? HttpsConnector.create(server, httpConfig, tls.get(), settings.tls().get().clientAuth(), selectors)
            : new ServerConnector(server, -1, selectors, new HttpConnectionFactory(httpConfig));
        connector.setHost(host);
        connector.setPort(port);
        FrontDoor.guard(connector, limits);
        return connector;
      });
    });
    InFlight inFlight = new InFlight();
    app.before(FrontDoor::refuseConnect);
    HttpSpans spans = new HttpSpans(service.tracing());
    app.post("/v1/chat/completions",
        ctx -> inFlight.run(() -> spans.run(ctx, "/v1/chat/completions", () -> completions.chat(ctx))));
    app.post("/v1/completions",
        ctx -> inFlight.run(() -> spans.run(ctx, "/v1/completions", () -> completions.text(ctx))));
    EmbeddingsEndpoint embeddings = new EmbeddingsEndpoint(service, completions);
    app.post("/v1/embeddings", ctx -> inFlight.run(() -> spans.run(ctx, "/v1/embeddings", () -> embeddings.handle(ctx))));
    app.get("/v1/models", ctx -> {
      service.authenticate(ctx.header("Authorization"));
      InfermeshHeaders.read(ctx.req()); // fail closed here too
      ObjectNode root = JSON.createObjectNode();
      root.put("object", "list");
      ArrayNode data = root.putArray("data");
      service.listModels().forEach(m -> data.add(model(m, loadedAt)));
      HttpErrors.write(ctx, 200, root);
    });
    app.get("/v1/models/{model}", ctx -> {
      service.authenticate(ctx.header("Authorization"));
      InfermeshHeaders.read(ctx.req());
      String name = ctx.pathParam("model");
      Optional<ListedModel> m = service.listModels().stream().filter(info -> info.id().equals(name)).findFirst();
      if (m.isEmpty()) {
        throw EdgeException.modelNotFound("model: the model '" + name + "' does not exist or is not served here");
      }
      HttpErrors.write(ctx, 200, model(m.get(), loadedAt));
    });
    app.get("/v1/infermesh/calibration", ctx -> {
      service.authenticate(ctx.header("Authorization"));
      InfermeshHeaders.read(ctx.req());
      if (!(service.localAnswerTap() instanceof ShadowEscalation shadows)) {
        throw new HttpProblem(404, null, "the router does not calibrate itself here (routing.calibration.enabled"
            + " is false)");
      }
      HttpErrors.write(ctx, 200, calibration(shadows.calibration().state()));
    });
    AnswersEndpoint answers = new AnswersEndpoint(service);
    app.get(AnswersEndpoint.PATH, answers::handle);
    batches.ifPresent(b -> BatchEndpoints.register(app, service, b, maxBodyBytes));
    app.get("/healthz", ctx -> HttpErrors.write(ctx, 200, JSON.createObjectNode().put("status", "ok")));
    app.get("/readyz", ctx -> {
      ObjectNode body = JSON.createObjectNode();
      if (service.ready()) {
        body.put("status", "ready");
        service.model().ifPresent(m -> body.put("model", m.name()).put("version", m.version()));
        HttpErrors.write(ctx, 200, body);
      } else {
        body.put("status", service.engine().isPresent() ? "draining" : "loading");
        HttpErrors.write(ctx, 503, body);
      }
    });
    app.get("/metrics", ctx -> {
      ctx.contentType("text/plain; version=0.0.4; charset=utf-8");
      ctx.result(metrics.get().getBytes(StandardCharsets.UTF_8));
    });

    app.exception(EdgeException.class, (e, ctx) -> {
      echoRequestId(ctx);
      HttpErrors.write(ctx, e);
    });
    app.exception(HttpProblem.class, (e, ctx) -> {
      echoRequestId(ctx);
      HttpErrors.write(ctx, e);
    });
    app.exception(PromptException.class, (e, ctx) -> {
      echoRequestId(ctx);
      HttpErrors.write(ctx, 400, HttpErrors.body(e.getMessage(), "invalid_request_error", "messages", null));
    });
    app.exception(HttpResponseException.class, (e, ctx) -> {
      String message = e.getStatus() == 404
          ? "Unknown request URL: " + ctx.method() + " " + ctx.path() + ". See the API at /v1/chat/completions,"
              + " /v1/completions, /v1/embeddings and /v1/models."
          : e.getMessage();
      HttpErrors.write(ctx, new HttpProblem(e.getStatus(), null, message));
    });
    app.exception(Exception.class, (e, ctx) -> {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      log.error("{} {} failed", ctx.method(), ctx.path(), e);
      echoRequestId(ctx);
      HttpErrors.write(ctx, 500, HttpErrors.body("internal error", "server_error", null, null));
    });
    app.start();
    return new HttpApi(app, clock, inFlight);
  }

  /** OpenAI's model object, plus the context length (as vLLM's {@code max_model_len}, under both names) and version. */
  /** The calibration's state as JSON; a rate not yet known is null. */
  private static ObjectNode calibration(OnlineCalibration.State state) {
    ObjectNode body = JSON.createObjectNode();
    body.put("target", state.target());
    body.put("examples", state.examples());
    body.put("threshold", state.threshold());
    body.put("comparisons", state.comparisons());
    rate(body, "agreement_rate", state.agreementRate());
    rate(body, "mean_similarity", state.meanSimilarity());
    body.put("decisions", state.decisions());
    rate(body, "escalation_rate", state.escalationRate());
    return body;
  }

  private static void rate(ObjectNode body, String name, double value) {
    if (Double.isNaN(value)) {
      body.putNull(name);
    } else {
      body.put(name, value);
    }
  }

  private static ObjectNode model(ListedModel m, long created) {
    ObjectNode node = JSON.createObjectNode();
    node.put("id", m.id());
    node.put("object", "model");
    node.put("created", created);
    node.put("owned_by", m.ownedBy());
    if (!m.version().isEmpty()) {
      node.put("version", m.version());
    }
    if (m.contextLength() > 0) {
      node.put("context_length", m.contextLength());
      node.put("max_model_len", m.contextLength());
    }
    return node;
  }

  private static void echoRequestId(Context ctx) {
    String id = ctx.attribute(CompletionsEndpoint.REQUEST_ID_ATTRIBUTE);
    if (id != null) {
      ctx.header("x-request-id", id);
    }
  }

  /** The port listened on. */
  public int port() {
    return app.port();
  }

  /** Stops accepting new connections; open connections and their requests carry on. */
  public void stopAccepting() {
    for (Connector connector : app.jettyServer().server().getConnectors()) {
      if (connector instanceof ServerConnector server) {
        try {
          server.close();
        } catch (RuntimeException e) {
          log.warn("could not close the HTTP listener: {}", e.toString());
        }
      }
    }
  }

  /**
   * Waits up to {@code timeout} for completion requests being answered now (their last bytes
   * written); returns whether none is left.
   */
  public boolean awaitIdle(Duration timeout) throws InterruptedException {
    return inFlight.awaitZero(timeout);
  }

  /** Stops the server; connections still open are closed. */
  @Override
  public void close() {
    app.stop();
  }

  @Override
  public String toString() {
    return "HttpApi{port=" + port() + ", clock=" + clock + "}";
  }

  /** Counts requests inside a completion handler, so shutdown can wait for their last bytes. Thread-safe. */
  /**
   * Handlers running now, for shutdown to wait on. Counted with an atomic, not a lock: a monitor
   * taken twice per request made threads queue behind a preempted holder (JFR's
   * {@code jdk.JavaMonitorEnter}, issue 19). Only a waiting {@link #awaitZero} is woken, under the lock.
   */
  private static final class InFlight {
    private final AtomicInteger count = new AtomicInteger();
    private volatile boolean awaited;

    interface Body {
      void run() throws Exception;
    }

    void run(Body body) throws Exception {
      count.incrementAndGet();
      try {
        body.run();
      } finally {
        // awaitZero sets awaited before it reads count; this writes count before it reads awaited
        if (count.decrementAndGet() == 0 && awaited) {
          synchronized (this) {
            notifyAll();
          }
        }
      }
    }

    synchronized boolean awaitZero(Duration timeout) throws InterruptedException {
      awaited = true;
      long deadline = System.nanoTime() + timeout.toNanos();
      while (count.get() > 0) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        TimeUnit.NANOSECONDS.timedWait(this, left);
      }
      return true;
    }
  }
}
