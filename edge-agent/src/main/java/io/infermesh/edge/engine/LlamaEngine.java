package io.infermesh.edge.engine;

import static java.util.Objects.requireNonNull;

import de.kherud.llama.InferenceParameters;
import de.kherud.llama.LlamaIterator;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.LlamaOutput;
import de.kherud.llama.LogLevel;
import de.kherud.llama.ModelParameters;
import de.kherud.llama.args.LogFormat;
import io.infermesh.edge.config.EdgeConfig;
import io.infermesh.models.chat.ChatTemplate;
import io.infermesh.models.chat.ChatTemplates;
import io.infermesh.models.chat.ChatTurn;
import io.infermesh.models.jinja.JinjaException;
import io.infermesh.models.stop.StopMatcher;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Phaser;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The llama.cpp engine (de.kherud:llama) over one GGUF file.
 *
 * <p>Loading checks the file's SHA-256 against {@code model.sha256} when set, reads the chat
 * template from the GGUF metadata (falling back to ChatML), and starts llama.cpp with {@code
 * context_size × parallel} tokens of context split into {@code parallel} slots, continuous
 * batching, and context shifting off (a full context ends generation with {@code length}).
 * llama.cpp loads on a short-lived thread of its own ({@link NativeModelLoader}): a caller that
 * stays alive would otherwise keep an OpenMP team beside the decode thread's and halve decode.
 *
 * <p>Thread-safe: llama.cpp's server thread decodes every slot; each {@link Generation} is pulled
 * from the binding by a read-ahead thread (its reader takes what is ready), and {@link #generate}
 * pulls on its caller's thread. Cancellation is polled between tokens (cancelling from another
 * thread while one waits inside the binding would strand that thread). {@code setNProbs} is never
 * called: it aborts the JVM in this binding. After {@link #close()} llama.cpp leaves a native
 * thread running, so a process must exit explicitly.
 */
public final class LlamaEngine implements Engine {
  private static final Logger log = LoggerFactory.getLogger(LlamaEngine.class);
  private static final Logger nativeLog = LoggerFactory.getLogger("llama.cpp");

  static {
    NativeLibraryDirectory.claim(); // before the binding's loader runs
    LlamaModel.setLogger(LogFormat.TEXT, LlamaEngine::logNative);
  }

  private final LlamaModel model;
  private final ModelInfo info;
  private final ChatTemplate template;
  private final boolean addBos;
  private final int maxTokenBytes; // see GgufFacts; 0 when unknown
  private final int vocabSize;
  private final long modelBytes; // the GGUF file's size: what closing should give back, at least
  private static final int PUMP_DRAIN_SECONDS = 5;
  private final AtomicBoolean closed = new AtomicBoolean();
  // one pump per running generation; admission bounds how many run, so no bound is needed here
  private final ExecutorService pumps = Executors.newCachedThreadPool(new PumpThreads());
  // readers that pull the binding themselves (ReadAheadGeneration's hand-over), plus the engine's own party
  private final Phaser directReaders = new Phaser(1);

  private LlamaEngine(LlamaModel model, ModelInfo info, ChatTemplate template, boolean addBos, int maxTokenBytes,
      int vocabSize, long modelBytes) {
    this.modelBytes = modelBytes;
    this.model = model;
    this.info = info;
    this.template = template;
    this.addBos = addBos;
    this.maxTokenBytes = maxTokenBytes;
    this.vocabSize = vocabSize > 0 ? vocabSize : Integer.MAX_VALUE;
  }

  /**
   * Loads the model {@code config} describes, on a machine with {@code cores} cores.
   *
   * @throws ModelLoadException when the path is unset or missing, the digest differs from {@code
   *     model.sha256}, or llama.cpp refuses the file
   */
  public static LlamaEngine load(EdgeConfig.Model config, int cores) throws IOException {
    requireNonNull(config, "config");
    Path path = config.path();
    if (path == null) {
      throw new ModelLoadException("model.path: not set (set model.path in edge.yaml or pass --model)");
    }
    if (!Files.isRegularFile(path) || !Files.isReadable(path)) {
      throw new ModelLoadException("model.path: no readable file at " + path);
    }
    long started = System.nanoTime();
    String sha256 = ModelDigest.verify(path, config.expectedSha256());
    GgufFacts facts = GgufFacts.read(path);
    ChatTemplate template = chatTemplate(config.chatTemplate(), facts);
    if ("auto".equals(config.chatTemplate()) && facts.chatTemplate().flatMap(ChatTemplates::detect).isEmpty()) {
      log.warn("model {} has {} chat template; using the {} fallback", path.getFileName(),
          facts.chatTemplate().isPresent() ? "an unrecognised" : "no", template.name());
    }
    int threads = config.effectiveThreads(cores);
    ModelParameters params = new ModelParameters()
        .setModel(path.toString())
        .setCtxSize(config.contextSize() * config.parallel())
        .setParallel(config.parallel())
        .setThreads(threads)
        .setThreadsBatch(threads)
        .disableContextShift()
        .disableLog(); // llama.cpp's server log goes straight to stdout; errors still surface as exceptions
    LlamaModel model;
    try {
      model = NativeModelLoader.load(params, "model.path");
    } catch (RuntimeException e) { // the binding's LlamaException is a package-private RuntimeException
      throw new ModelLoadException("model.path: llama.cpp cannot load " + path + ": " + e.getMessage(), e);
    }
    ModelInfo info = new ModelInfo(config.effectiveName(), sha256.substring(0, 12), sha256, config.contextSize(),
        config.parallel(), template.name());
    log.info("loaded model {} ({}, sha256 {}) in {} ms: context {} x {} slots, {} threads, chat template {} "
        + "(tools: {})", info.name(), path.getFileName(), info.version(), (System.nanoTime() - started) / 1_000_000,
        config.contextSize(), config.parallel(), threads, template.name(), template.toolRendering());
    if (config.parallel() > 1) {
      log.info("model.parallel {}: the embedded engine decodes its slots together, but its readers wait on "
          + "llama.cpp's result queue by spinning, so {} streams share about one stream's speed on a small machine; "
          + "for concurrency use engine: upstream with llama-server -np {} (edge-agent README, issue 19)",
          config.parallel(), config.parallel(), config.parallel());
    }
    return new LlamaEngine(model, info, template, facts.addBos(), facts.maxTokenBytes(), facts.vocabSize(),
        Files.size(path));
  }

  @Override
  public ModelInfo info() {
    return info;
  }

  /** The vocabulary's longest token in bytes (0 when unknown): see {@link #rawPrompt}. */
  int maxTokenBytes() {
    return maxTokenBytes;
  }

  /** The chat template in use. */
  public ChatTemplate chatTemplate() {
    return template;
  }

  /** The template {@code configured} ({@code model.chat_template}) names for a model with {@code facts}. */
  static ChatTemplate chatTemplate(String configured, GgufFacts facts) throws ModelLoadException {
    try {
      return ChatTemplates.choose(configured, facts.chatTemplate(), facts.bosToken(), facts.eosToken());
    } catch (IllegalArgumentException | JinjaException e) {
      throw new ModelLoadException("model.chat_template: " + configured + ": " + e.getMessage(), e);
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>Turns with a {@link ToolForm} reach the template as sent, with the tools offered; the
   * template renders them itself or in the fallback form (which is their {@code content}).
   *
   * @throws PromptException when the model's own template refuses the chat
   */
  @Override
  public Prompt renderChat(List<ChatMessage> messages) {
    return rawPrompt(render(template, messages));
  }

  static String render(ChatTemplate template, List<ChatMessage> messages) {
    List<ChatTurn> turns = new ArrayList<>(messages.size());
    List<String> tools = new ArrayList<>();
    for (ChatMessage m : messages) {
      if (m.toolForm().isPresent()) {
        tools.addAll(m.toolForm().get().tools());
        m.toolForm().get().turn().ifPresent(turns::add);
      } else {
        turns.add(new ChatTurn(m.role().wireName(), m.content()));
      }
    }
    try {
      return template.render(turns, tools);
    } catch (JinjaException e) {
      throw new PromptException("messages: the model's chat template refused the chat: " + e.getMessage(), e);
    }
  }

  /**
   * {@inheritDoc}
   *
   * <p>A text too long for the context whatever its tokens — more UTF-8 bytes than {@code
   * context_size} times the vocabulary's longest token — is not tokenized: its count is that lower
   * bound (already over the context, so it is refused or escalated alike), which keeps a
   * megabyte of hostile input from costing a megabyte of tokenization. Linear in the text.
   */
  @Override
  public Prompt rawPrompt(String text) {
    int bos = addBos ? 1 : 0;
    long atLeast = tokensAtLeast(text, maxTokenBytes) + bos;
    if (atLeast > info.contextSize()) {
      return new Prompt(text, (int) Math.min(atLeast, Integer.MAX_VALUE));
    }
    return new Prompt(text, tokenize(text).length + bos);
  }

  /** The fewest tokens {@code text} can take when no token covers more than {@code maxTokenBytes} bytes. */
  static long tokensAtLeast(String text, int maxTokenBytes) {
    if (maxTokenBytes <= 0) {
      return 0;
    }
    long bytes = 0;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      bytes += c < 0x80 ? 1 : c < 0x800 || Character.isSurrogate(c) ? 2 : 3; // a surrogate pair: 4
    }
    return (bytes + maxTokenBytes - 1) / maxTokenBytes;
  }

  /** {@inheritDoc} llama.cpp ignores a logit_bias id past it without a word, so the edge checks first. */
  @Override
  public int vocabSize() {
    return vocabSize;
  }

  @Override
  public int[] tokenize(String text) {
    checkOpen();
    return text.isEmpty() ? new int[0] : model.encode(text);
  }

  /**
   * {@inheritDoc}
   *
   * <p>Tokens are read ahead on a pump thread (see {@link ReadAheadGeneration}), so {@link
   * Generation#ready()} is exact and a slow reader never stalls llama.cpp's result queue.
   */
  @Override
  public Generation start(Prompt prompt, SamplingParams sampling, BooleanSupplier cancelled) {
    checkOpen();
    return ReadAheadGeneration.start(stop -> direct(prompt, sampling, stop), cancelled, pumps, directReaders);
  }

  /** Pulls on the caller's thread: the sink is called inline, so no pump thread is needed. */
  @Override
  public Completion generate(Prompt prompt, SamplingParams sampling, TokenSink sink, BooleanSupplier cancelled) {
    checkOpen();
    try (Generation generation = direct(prompt, sampling, cancelled)) {
      for (String text; (text = generation.next()) != null; ) {
        if (!text.isEmpty()) {
          sink.accept(text);
        }
      }
      return generation.completion();
    }
  }

  /** A generation pulled straight from the binding by whoever calls {@code next()}. */
  private Generation direct(Prompt prompt, SamplingParams sampling, BooleanSupplier cancelled) {
    InferenceParameters params = new InferenceParameters(prompt.text())
        .setNPredict(sampling.maxTokens())
        .setTemperature(sampling.temperature())
        .setTopP(sampling.topP())
        .setTopK(llamaTopK(sampling))
        .setCachePrompt(true);
    // Never call setNProbs here: it aborts the JVM in this binding.
    sampling.seed().ifPresent(seed -> params.setSeed(foldSeed(seed)));
    applyPenalties(params, sampling.penalties());
    // Stop strings are matched here, not by llama.cpp: its partial-match check costs up to
    // (stop length)² per token, ours (StopMatcher) is linear in the text.
    sampling.grammar().ifPresent(params::setGrammar);
    try {
      return new LlamaGeneration(model.generate(params).iterator(), sampling, prompt.tokens(), cancelled);
    } catch (RuntimeException e) {
      throw new EngineException("llama.cpp refused the request: " + e.getMessage(), e);
    }
  }

  /**
   * The top-k the binding is given. Greedy decoding (temperature 0) with no cut asked for is sent
   * as top-k 1: the same argmax, but without it llama.cpp's sampler chain sorts the whole
   * vocabulary for every token (151,936 entries on a Qwen-size vocabulary: ~10 ms a token, a
   * third of 1-thread decode; issue 19).
   */
  static int llamaTopK(SamplingParams sampling) {
    return sampling.temperature() <= 0f && sampling.topK() == 0 ? 1 : sampling.topK();
  }

  /** A generation over the binding's iterator. Confined to the thread that pulls it. */
  private static final class LlamaGeneration implements Generation {
    private final LlamaIterator tokens;
    private final SamplingParams sampling;
    private final int promptTokens;
    private final BooleanSupplier cancelled;
    private final StopMatcher stops;
    private int outputs;
    private boolean lastOutputEmpty; // no output at all: every token was held back, so the budget ran out
    private Completion completion;
    private String tail; // held-back text released after the end, or null

    LlamaGeneration(LlamaIterator tokens, SamplingParams sampling, int promptTokens, BooleanSupplier cancelled) {
      this.tokens = tokens;
      this.sampling = sampling;
      this.promptTokens = promptTokens;
      this.cancelled = cancelled;
      this.stops = StopMatcher.of(sampling.stop());
    }

    /**
     * The next text (possibly empty while a stop string might be starting), or null at the end.
     * A stop string ends generation at once: the rest of the binding's stream is cancelled.
     */
    @Override
    public String next() {
      if (tail != null) {
        String text = tail;
        tail = null;
        return text;
      }
      if (completion != null) {
        return null;
      }
      if (cancelled.getAsBoolean()) {
        close();
        throw new CancellationException("generation cancelled");
      }
      LlamaOutput out;
      try {
        out = tokens.next();
      } catch (RuntimeException e) {
        close();
        throw new EngineException("llama.cpp failed while generating: " + e.getMessage(), e);
      }
      if (tokens.hasNext()) {
        outputs++;
        lastOutputEmpty = out.text.isEmpty();
        String text = stops.accept(out.text);
        if (stops.stopped()) {
          close();
          completion = new Completion(FinishReason.STOP, promptTokens, outputs);
          return text.isEmpty() ? null : text;
        }
        return text;
      }
      // the closing result carries no text in stream mode; whatever was held back goes out now
      String text = stops.accept(out.text);
      completion = stops.stopped() ? new Completion(FinishReason.STOP, promptTokens, outputs)
          : finish(outputs, lastOutputEmpty, sampling.maxTokens(), promptTokens);
      text += stops.flush();
      return text.isEmpty() ? null : text;
    }

    @Override
    public Completion completion() {
      if (completion == null) {
        throw new IllegalStateException("generation has not ended");
      }
      return completion;
    }

    @Override
    public void close() {
      if (tokens.hasNext()) {
        tokens.cancel();
      }
    }
  }

  /**
   * How a generation ended, from what the binding shows: one output per token, except that a
   * token ending in an incomplete UTF-8 sequence is held back and sent with the next one, and the
   * closing result carries no token. An end-of-sequence token arrives as an empty output; a
   * token budget that ran out ends on the last token's text (or on nothing, when every token was
   * held back). So: {@code outputs} reaching the budget, or a last output that is not empty,
   * means {@code length} with exactly {@code maxTokens} generated; otherwise {@code stop}, with
   * {@code outputs} as the count (held-back tokens make it a slight undercount). Stop strings
   * never end the binding's stream (they are matched in Java, and a match is reported directly).
   */
  static Completion finish(int outputs, boolean lastOutputEmpty, int maxTokens, int promptTokens) {
    boolean length = outputs >= maxTokens || !lastOutputEmpty;
    return length
        ? new Completion(FinishReason.LENGTH, promptTokens, maxTokens)
        : new Completion(FinishReason.STOP, promptTokens, outputs);
  }

  /**
   * OpenAI's penalties map one to one onto llama.cpp's sampler ({@code presence_penalty}, {@code
   * frequency_penalty}, {@code logit_bias} by token id). llama.cpp counts the last 64 tokens of the
   * slot ({@code penalty_last_n}), OpenAI the whole completion: the same for answers up to 64 tokens.
   */
  static void applyPenalties(InferenceParameters params, Penalties penalties) {
    if (!penalties.active()) {
      return;
    }
    params.setPresencePenalty(penalties.presence()).setFrequencyPenalty(penalties.frequency());
    if (!penalties.logitBias().isEmpty()) {
      params.setTokenIdBias(penalties.logitBias());
    }
  }

  /** llama.cpp seeds are 32-bit and 0xFFFFFFFF means "random": fold into the non-negative ints. */
  static int foldSeed(long seed) {
    return (int) (seed ^ (seed >>> 32)) & 0x7FFF_FFFF;
  }

  private void checkOpen() {
    if (closed.get()) {
      throw new IllegalStateException("the engine is closed");
    }
  }

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      // a pump inside the binding's receive call must not outlive the native model: closed
      // generations stop at their next token, so this wait is short
      pumps.shutdown();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(PUMP_DRAIN_SECONDS);
      try {
        boolean drained = pumps.awaitTermination(PUMP_DRAIN_SECONDS, TimeUnit.SECONDS);
        // and readers the pumps handed their generation to: they too stop at their next token
        directReaders.awaitAdvanceInterruptibly(directReaders.arriveAndDeregister(),
            Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        if (!drained) {
          log.warn("{}: generations still being read after {} s; unloading anyway", info.name(), PUMP_DRAIN_SECONDS);
        }
      } catch (TimeoutException e) {
        log.warn("{}: generations still being read after {} s; unloading anyway", info.name(), PUMP_DRAIN_SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      OptionalLong residentBefore = ResidentMemory.bytes();
      model.close();
      ResidentMemory.Unload unload = ResidentMemory.unload(info.name(), modelBytes, residentBefore,
          ResidentMemory.bytes());
      if (unload.warning()) {
        log.warn(unload.message());
      } else {
        log.info(unload.message());
      }
    }
  }

  @Override
  public String toString() {
    return "LlamaEngine{" + info + "}";
  }

  /** Daemon threads named for thread dumps; a pump must never keep the JVM alive. */
  private static final class PumpThreads implements ThreadFactory {
    private final AtomicInteger count = new AtomicInteger();

    @Override
    public Thread newThread(Runnable r) {
      Thread t = new Thread(r, "llama-read-ahead-" + count.incrementAndGet());
      t.setDaemon(true);
      return t;
    }
  }

  private static void logNative(LogLevel level, String message) {
    String text = message.strip();
    if (text.isEmpty()) {
      return;
    }
    switch (level) {
      case ERROR -> nativeLog.error(text);
      case WARN -> nativeLog.warn(text);
      case INFO -> nativeLog.debug(text);
      default -> nativeLog.trace(text);
    }
  }
}
