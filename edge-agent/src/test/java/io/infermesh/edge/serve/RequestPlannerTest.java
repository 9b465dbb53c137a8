package io.infermesh.edge.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.infermesh.edge.auth.Tenant;
import io.infermesh.edge.cache.CacheKey;
import io.infermesh.edge.cache.CachedCompletion;
import io.infermesh.edge.config.Cascade;
import io.infermesh.edge.engine.ChatMessage;
import io.infermesh.edge.engine.FinishReason;
import io.infermesh.edge.engine.ModelInfo;
import io.infermesh.edge.engine.Priority;
import io.infermesh.edge.engine.Prompt;
import io.infermesh.edge.engine.Role;
import io.infermesh.edge.engine.SamplingParams;
import io.infermesh.edge.route.CascadePolicy;
import io.infermesh.edge.route.CoreState;
import io.infermesh.edge.route.Route;
import io.infermesh.edge.route.RouteDecision;
import io.infermesh.edge.route.RouteRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Every decision of {@link RequestPlanner}, over values: no engine, no cache, no sockets, no clock. */
class RequestPlannerTest {
  private static final int CONTEXT = 256;
  private static final int DEFAULT_MAX = 8;
  private static final ModelInfo MODEL = new ModelInfo("edge-model", "0123456789ab", "ab".repeat(32), CONTEXT, 1,
      "chatml");
  private static final RouteDecision EASY = new RouteDecision(Route.EDGE, "difficulty-low");
  private static final RouteDecision HARD = new RouteDecision(Route.CORE, "difficulty-high");

  private final AtomicReference<RouteDecision> decision = new AtomicReference<>(EASY);
  private final List<RouteRequest> routed = new ArrayList<>();
  private final AtomicReference<CoreState> core = new AtomicReference<>(CoreState.AVAILABLE);

  private RequestPlanner.Builder planner() {
    return RequestPlanner.builder()
        .router(r -> {
          routed.add(r);
          return decision.get();
        })
        .core(core::get)
        .defaultMaxTokens(DEFAULT_MAX);
  }

  /** The surroundings: a cache of {@code stored}, a prompt of {@code promptTokens}; records what was asked. */
  private static final class Scripted implements RequestPlanner.Facts {
    final Map<CacheKey, CachedCompletion> stored = new HashMap<>();
    final List<CacheKey> lookups = new ArrayList<>();
    int promptTokens = 9;
    int rendered;

    @Override
    public Optional<CachedCompletion> cached(CacheKey key) {
      lookups.add(key);
      return Optional.ofNullable(stored.get(key));
    }

    @Override
    public Prompt prompt() {
      rendered++;
      return new Prompt("user: hi\n", promptTokens);
    }

    @Override
    public int vocabSize() {
      return 512;
    }
  }

  private static CompletionRequest chat(SamplingRequest sampling, Map<String, String> hints) {
    return new CompletionRequest("", Operation.CHAT, "", List.of(ChatMessage.of(Role.USER, "hi"),
        ChatMessage.of(Role.USER, "there")), null, sampling, hints, Optional.of(Duration.ofSeconds(3)));
  }

  private static SamplingRequest greedy(Integer maxTokens) {
    return new SamplingRequest(maxTokens, 0.0, null, null, null, List.of());
  }

  /** {@code request} accepted as {@link Intake} accepts it, for {@code tenant}. */
  private static Job job(CompletionRequest request, String tenant) {
    SamplingParams sampling = RequestValidator.sampling(request.sampling(), Integer.MAX_VALUE / 2)
        .withGrammar(request.structured().gbnf());
    return new Job("req-1", new Tenant(tenant, 0, 0), request, new Job.Terms(MODEL, sampling, Priority.NORMAL),
        new Job.Window(0, Duration.ofSeconds(3).toNanos()));
  }

  private static Job job(CompletionRequest request) {
    return job(request, "acme");
  }

  private static SamplingParams greedyParams(int maxTokens) {
    return new SamplingParams(maxTokens, 0f, 1f, 0, OptionalLong.empty(), List.of());
  }

  private static CachedCompletion answer() {
    return CachedCompletion.of(List.of("cached"), FinishReason.STOP, 9, 1);
  }

  @Test
  void plan_cachedAnswer_isReplayedWithoutRenderingOrRouting() {
    RequestPlanner planner = planner().cache(true).build();
    Job job = job(chat(greedy(4), Map.of()));
    Scripted facts = new Scripted();
    facts.stored.put(planner.cacheKey(job).orElseThrow(), answer());

    Plan plan = planner.plan(job, facts);

    assertThat(plan).isEqualTo(new Plan.FromCache(facts.stored.values().iterator().next()));
    assertThat(plan.decision()).isEqualTo(RouteDecision.cacheHit());
    assertThat(facts.rendered).isZero();
    assertThat(routed).isEmpty();
  }

  @Test
  void plan_privacyPolicyFoundLocalOnlyData_staysOnTheEdgeWithoutAskingTheRouter() {
    decision.set(HARD);
    Job job = job(chat(greedy(4), Map.of())).screened(new Screening("strict", Map.of("US_SSN", 1), Set.of("US_SSN")));

    Plan plan = planner().cascade(Cascade.builder().enabled(true).build()).build().plan(job, new Scripted());

    assertThat(plan).isInstanceOf(Plan.Local.class);
    assertThat(plan.decision()).isEqualTo(new RouteDecision(Route.EDGE, RequestPlanner.POLICY_LOCAL_ONLY));
    assertThat(routed).isEmpty();
  }

  @Test
  void plan_privacyLocalOnlyWithLogprobs_is400NamingLogprobsAndTheReason() {
    decision.set(HARD);
    Job job = job(chat(greedy(4).with(null, null, Map.of(), 2), Map.of()))
        .screened(new Screening("strict", Map.of("US_SSN", 1), Set.of("US_SSN")));

    assertThatThrownBy(() -> planner().build().plan(job, new Scripted()))
        .isInstanceOfSatisfying(EdgeException.class, e -> assertThat(e.param()).hasValue("logprobs"))
        .hasMessageContaining(RequestPlanner.POLICY_LOCAL_ONLY);
  }

  @Test
  void plan_cacheMiss_generatesLocallyAndStoresUnderTheLookedUpKey() {
    RequestPlanner planner = planner().cache(true).build();
    Scripted facts = new Scripted();

    Plan plan = planner.plan(job(chat(greedy(4), Map.of())), facts);

    assertThat(plan).isInstanceOfSatisfying(Plan.Local.class, local -> {
      assertThat(local.decision()).isEqualTo(EASY);
      assertThat(local.prompt()).isEqualTo(new Prompt("user: hi\n", 9));
      assertThat(local.sampling().maxTokens()).isEqualTo(4);
      assertThat(local.storeAs()).contains(facts.lookups.get(0));
    });
    assertThat(facts.lookups).hasSize(1);
  }

  @Test
  void plan_sampledRequest_isNeitherLookedUpNorStored() {
    Scripted facts = new Scripted();

    Plan plan = planner().cache(true).build().plan(job(chat(new SamplingRequest(4, 0.7, null, null, null, List.of()),
        Map.of())), facts);

    assertThat(facts.lookups).isEmpty();
    assertThat(((Plan.Local) plan).storeAs()).isEmpty();
  }

  @Test
  void plan_cacheOff_isNeitherLookedUpNorStored() {
    Scripted facts = new Scripted();

    Plan plan = planner().cache(false).build().plan(job(chat(greedy(4), Map.of())), facts);

    assertThat(facts.lookups).isEmpty();
    assertThat(((Plan.Local) plan).storeAs()).isEmpty();
  }

  @Test
  void cacheKey_sameRequestWithAnotherAliasRequirementPrivacyOrTenant_differs() {
    RequestPlanner planner = planner().cache(true).build();
    CompletionRequest auto = chat(greedy(4), Map.of());
    CompletionRequest edge = new CompletionRequest("", Operation.CHAT, "edge", auto.messages(), null, auto.sampling(),
        Map.of(), auto.timeout());

    List<CacheKey> keys = List.of(planner.cacheKey(job(auto)).orElseThrow(), planner.cacheKey(job(edge)).orElseThrow(),
        planner.cacheKey(job(chat(greedy(4), Map.of("require", "core")))).orElseThrow(),
        planner.cacheKey(job(chat(greedy(4), Map.of("privacy", "local-only")))).orElseThrow(),
        planner.cacheKey(job(auto, "other-tenant")).orElseThrow());

    assertThat(keys).doesNotHaveDuplicates();
    assertThat(planner.cacheKey(job(chat(greedy(4), Map.of())))).contains(keys.get(0));
  }

  @Test
  void plan_anyRequest_tellsTheRouterItsFacts() {
    Scripted facts = new Scripted();
    facts.promptTokens = CONTEXT - 3;

    planner().build().plan(job(chat(new SamplingRequest(null, 0.5, null, null, null, List.of()),
        Map.of("priority", "low"))), facts);

    assertThat(routed).containsExactly(new RouteRequest("acme", "auto", Map.of("priority", "low"), CONTEXT - 3, 3,
        CONTEXT, "hi\nthere", 2, Optional.of(Duration.ofSeconds(3)), Optional.empty()));
  }

  @Test
  void plan_logprobsPinnedToTheEdge_isRefusedNamingLogprobs() {
    decision.set(new RouteDecision(Route.EDGE, "privacy-local-only"));
    CompletionRequest request = chat(greedy(4).with(null, null, Map.of(), 2), Map.of("privacy", "local-only"));

    assertThatThrownBy(() -> planner().build().plan(job(request), new Scripted()))
        .isInstanceOfSatisfying(EdgeException.class, e -> {
          assertThat(e.param()).contains("logprobs");
          assertThat(e.getMessage()).contains("privacy-local-only");
        });
    assertThat(routed).singleElement().satisfies(r -> assertThat(r.coreOnlyFeature()).contains("logprobs"));
  }

  @Test
  void plan_logprobsRoutedToTheCore_isNeverCachedNorContinuedLocally() {
    decision.set(new RouteDecision(Route.CORE, "logprobs-core-only"));
    Scripted facts = new Scripted();

    Plan plan = planner().cache(true).build().plan(job(chat(greedy(4).with(null, null, Map.of(), 0), Map.of())), facts);

    assertThat(facts.lookups).isEmpty();
    assertThat(plan).isInstanceOfSatisfying(Plan.Core.class, c -> assertThat(c.continuable()).isFalse());
  }

  @Test
  void plan_routerRefuses_isRefusedWithItsReason() {
    RouteDecision refused = new RouteDecision(Route.REFUSED, "core-required-unavailable");
    decision.set(refused);

    assertThat(planner().build().plan(job(chat(greedy(4), Map.of("require", "core"))), new Scripted()))
        .isEqualTo(new Plan.Refused(refused));
  }

  @Test
  void plan_routedToTheCore_leavesMaxTokensToTheCoreAndMayContinueLocally() {
    decision.set(HARD);

    Plan explicit = planner().build().plan(job(chat(greedy(1000), Map.of())), new Scripted());
    Plan unset = planner().build().plan(job(chat(greedy(null), Map.of())), new Scripted());

    assertThat(explicit).isInstanceOfSatisfying(Plan.Core.class, c -> {
      assertThat(c.sampling().maxTokens()).isEqualTo(1000); // beyond the edge's context: the core judges
      assertThat(c.continuable()).isTrue();
      assertThat(c.prompt()).isEqualTo(new Prompt("user: hi\n", 9));
    });
    assertThat(((Plan.Core) unset).sampling().maxTokens()).isEqualTo(DEFAULT_MAX);
  }

  @Test
  void plan_coreRequired_mayNotContinueLocally() {
    decision.set(new RouteDecision(Route.CORE, "require-core"));

    Plan plan = planner().build().plan(job(chat(greedy(4), Map.of("require", "core"))), new Scripted());

    assertThat(plan).isInstanceOfSatisfying(Plan.Core.class, c -> assertThat(c.continuable()).isFalse());
  }

  @Test
  void plan_promptLongerThanTheEdgesContext_isRefusedNamingMessages() {
    Scripted facts = new Scripted();
    facts.promptTokens = CONTEXT;

    assertThatThrownBy(() -> planner().build().plan(job(chat(greedy(null), Map.of())), facts))
        .isInstanceOfSatisfying(EdgeException.class, e -> {
          assertThat(e.param()).contains("messages");
          assertThat(e.code()).contains("context_length_exceeded");
        });
  }

  @Test
  void plan_maxTokensBeyondTheRoomLeftOnTheEdge_isRefusedNamingMaxTokens() {
    Scripted facts = new Scripted();
    facts.promptTokens = CONTEXT - 5;

    assertThatThrownBy(() -> planner().build().plan(job(chat(greedy(6), Map.of())), facts))
        .isInstanceOfSatisfying(EdgeException.class, e -> {
          assertThat(e.param()).contains("max_tokens");
          assertThat(e.getMessage()).contains("at most 5");
        });
  }

  @Test
  void plan_noMaxTokens_getsTheDefaultCappedByTheRoomLeft() {
    Scripted facts = new Scripted();
    facts.promptTokens = CONTEXT - 5;

    Plan plan = planner().build().plan(job(chat(greedy(null), Map.of())), facts);

    assertThat(((Plan.Local) plan).sampling().maxTokens()).isEqualTo(5);
  }

  @Test
  void plan_logitBiasBeyondTheVocabulary_isRefusedOnTheEdgeButSentToTheCore() {
    CompletionRequest biased = chat(greedy(4).with(null, null, Map.of(600, 1.0), null), Map.of());

    assertThatThrownBy(() -> planner().build().plan(job(biased), new Scripted()))
        .isInstanceOfSatisfying(EdgeException.class, e -> assertThat(e.param()).contains("logit_bias"));
    decision.set(HARD);
    assertThat(planner().build().plan(job(biased), new Scripted())).isInstanceOf(Plan.Core.class);
  }

  @Test
  void plan_cascadeOnAndLowDifficulty_isTheCascadeWithFixedSeedSamples() {
    Cascade cascade = new Cascade(true, 3, 2, 1.5, 0.4);

    Plan plan = planner().cache(true).cascade(cascade).build().plan(job(chat(greedy(4), Map.of())), new Scripted());

    assertThat(plan).isInstanceOfSatisfying(Plan.Cascade.class, c -> {
      assertThat(c.decision()).isEqualTo(EASY);
      assertThat(c.draft().storeAs()).isEmpty(); // a judged draft is not cached
      assertThat(c.draft().sampling().maxTokens()).isEqualTo(4);
      assertThat(c.samples()).extracting(SamplingParams::seed)
          .containsExactly(OptionalLong.of(1), OptionalLong.of(2), OptionalLong.of(3));
      assertThat(c.samples()).allSatisfy(s -> {
        assertThat(s.maxTokens()).isEqualTo(2);
        assertThat(s.temperature()).isEqualTo(1.5f);
      });
      assertThat(c.policy().judge(List.of("a b", "c d"))).isEqualTo(new RouteDecision(Route.CORE,
          CascadePolicy.REJECTED));
      assertThat(c.escalation().decision()).isEqualTo(new RouteDecision(Route.CORE, CascadePolicy.REJECTED));
      assertThat(c.escalation().continuable()).isTrue();
    });
  }

  @Test
  void plan_cascadeOnButCoreUnreachableHardRuleOrStructured_generatesLocally() {
    Cascade cascade = new Cascade(true, 3, 2, 1.5, 0.4);
    RequestPlanner planner = planner().cascade(cascade).build();
    CompletionRequest text = chat(greedy(4), Map.of());
    CompletionRequest json = new CompletionRequest("", Operation.CHAT, "", text.messages(), null, text.sampling(),
        Map.of(), Optional.empty(), StructuredOutput.jsonObject());

    Plan structured = planner.plan(job(json), new Scripted());
    decision.set(new RouteDecision(Route.EDGE, "privacy-local-only"));
    Plan pinned = planner.plan(job(text), new Scripted());
    decision.set(EASY);
    core.set(CoreState.CIRCUIT_OPEN);
    Plan coreDown = planner.plan(job(text), new Scripted());

    assertThat(List.of(structured, pinned, coreDown)).allSatisfy(p -> assertThat(p).isInstanceOf(Plan.Local.class));
    assertThat(((Plan.Local) structured).sampling().grammar()).isPresent();
  }

  @Test
  void resume_beforeAnyText_reusesThePromptWithTheWholeBudget() {
    Plan.Core core = new Plan.Core(HARD, new Prompt("user: hi\n", 9), greedyParams(6), true);
    RouteDecision degraded = new RouteDecision(Route.EDGE_DEGRADED, "core-failed");

    Plan.Local rest = RequestPlanner.resume(job(chat(greedy(6), Map.of())), core,
        new RequestPlanner.Interruption("", 0, degraded), text -> {
          throw new AssertionError("nothing to render");
        });

    assertThat(rest).isEqualTo(new Plan.Local(degraded, core.prompt(), greedyParams(6), Optional.empty()));
  }

  @Test
  void resume_afterText_continuesFromItWithWhatIsLeftWithinTheRoom() {
    Plan.Core core = new Plan.Core(HARD, new Prompt("user: hi\n", 9), greedyParams(100), true);
    RouteDecision degraded = new RouteDecision(Route.EDGE_DEGRADED, "core-failed-midstream");
    List<String> rendered = new ArrayList<>();

    Plan.Local rest = RequestPlanner.resume(job(chat(greedy(100), Map.of())), core,
        new RequestPlanner.Interruption("Once upon", 2, degraded), text -> {
          rendered.add(text);
          return new Prompt(text, CONTEXT - 40);
        });

    assertThat(rendered).containsExactly("user: hi\nOnce upon");
    assertThat(rest.prompt().text()).isEqualTo("user: hi\nOnce upon");
    assertThat(rest.sampling().maxTokens()).isEqualTo(40); // 98 left, 40 fit
    assertThat(rest.decision()).isEqualTo(degraded);
  }

  @Test
  void resume_constrainedAnswerMidway_isUnavailable() {
    SamplingParams constrained = greedyParams(6).withGrammar(StructuredOutput.jsonObject().gbnf());
    Plan.Core core = new Plan.Core(HARD, new Prompt("user: hi\n", 9), constrained, true);

    assertThatThrownBy(() -> RequestPlanner.resume(job(chat(greedy(6), Map.of())), core,
        new RequestPlanner.Interruption("{\"a\":", 2, new RouteDecision(Route.EDGE_DEGRADED, "core-failed-midstream")),
        text -> new Prompt(text, 12)))
        .isInstanceOfSatisfying(EdgeException.class, e -> assertThat(e.kind()).isEqualTo(EdgeException.Kind.UNAVAILABLE))
        .hasMessageContaining("constrained");
  }

  @Test
  void resume_answerSoFarFillsTheContext_isUnavailable() {
    Plan.Core core = new Plan.Core(HARD, new Prompt("user: hi\n", 9), greedyParams(6), true);

    assertThatThrownBy(() -> RequestPlanner.resume(job(chat(greedy(6), Map.of())), core,
        new RequestPlanner.Interruption("long", 2, new RouteDecision(Route.EDGE_DEGRADED, "core-failed-midstream")),
        text -> new Prompt(text, CONTEXT)))
        .hasMessageContaining("does not fit the edge's context");
  }
}
