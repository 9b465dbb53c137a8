package io.infermesh.edge.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.openai.client.OpenAIClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.models.Model;
import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.SdkEdge;
import io.infermesh.edge.TinyModel;
import io.infermesh.edge.config.EdgeConfig;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The official OpenAI Java SDK, unchanged, against a running agent. */
class OpenAiSdkTest {
  private static final String KEY = "sk-sdk-test-0000001";
  private static EdgeAgent agent;
  private static OpenAIClient client;

  @BeforeAll
  static void start() throws Exception {
    EdgeConfig config = TinyModel.config().withAuth(new EdgeConfig.Auth(List.of(
        EdgeConfig.Tenant.builder("sdk").keys(KEY).build())));
    agent = EdgeAgent.builder(config).engine(TinyModel.engine()).start();
    client = SdkEdge.client(agent, KEY);
  }

  @AfterAll
  static void stop() {
    client.close();
    agent.close();
  }

  private static ChatCompletionCreateParams.Builder chat(String text) {
    return ChatCompletionCreateParams.builder()
        .model("tiny-edge")
        .addSystemMessage("You are terse.")
        .addUserMessage(text)
        .maxCompletionTokens(8)
        .temperature(0.0);
  }

  @Test
  void chatCompletion_nonStreaming_parsesAndValidates() {
    ChatCompletion completion = client.chat().completions().create(chat("Hello from the SDK").build());

    completion.validate();
    assertThat(completion.model()).isEqualTo("tiny-edge");
    assertThat(completion.choices()).hasSize(1);
    assertThat(completion.choices().get(0).message().content()).isPresent();
    assertThat(completion.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.LENGTH);
    assertThat(completion.usage()).hasValueSatisfying(u -> assertThat(u.completionTokens()).isEqualTo(8));
  }

  @Test
  void chatCompletion_streaming_yieldsTheSameTextWithUsage() {
    String whole = client.chat().completions().create(chat("Stream via the SDK").build())
        .choices().get(0).message().content().orElseThrow();
    List<ChatCompletionChunk> chunks = new ArrayList<>();

    try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(
        chat("Stream via the SDK").topP(0.99)
            .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
      stream.stream().forEach(chunks::add);
    }

    chunks.forEach(ChatCompletionChunk::validate);
    StringBuilder text = new StringBuilder();
    chunks.forEach(c -> c.choices().forEach(choice -> choice.delta().content().ifPresent(text::append)));
    assertThat(text.toString()).isEqualTo(whole);
    assertThat(chunks.get(chunks.size() - 1).usage()).hasValueSatisfying(u ->
        assertThat(u.completionTokens()).isEqualTo(8));
  }

  @Test
  void completion_nonStreamingAndStreaming_work() {
    CompletionCreateParams params = CompletionCreateParams.builder()
        .model("tiny-edge").prompt("The quick brown fox").maxTokens(6).temperature(0.0).build();

    Completion whole = client.completions().create(params);
    StringBuilder streamed = new StringBuilder();
    try (StreamResponse<Completion> stream = client.completions().createStreaming(params.toBuilder().seed(9).build())) {
      // not validate(): the SDK reuses the final Completion type for chunks and insists on a
      // finish_reason that OpenAI itself leaves null until the last chunk
      stream.stream().forEach(c -> c.choices().forEach(choice -> streamed.append(choice.text())));
    }

    whole.validate();
    assertThat(streamed.toString()).isEqualTo(whole.choices().get(0).text());
  }

  @Test
  void models_listIncludesTheLoadedModel() {
    List<Model> models = new ArrayList<>();
    client.models().list().autoPager().forEach(models::add);

    assertThat(models).extracting(Model::id).containsExactly("auto", "edge", "tiny-edge");
  }

  @Test
  void errors_mapToTheSdksExceptions() {
    assertThatThrownBy(() -> client.chat().completions().create(chat("x").model("gpt-4o").build()))
        .isInstanceOf(NotFoundException.class)
        .hasMessageContaining("gpt-4o");
    assertThatThrownBy(() -> client.chat().completions().create(chat("x").temperature(3.0).build()))
        .isInstanceOfSatisfying(BadRequestException.class, e ->
            assertThat(e.getMessage()).contains("temperature"));
    OpenAIClient anonymous = SdkEdge.client(agent, "sk-wrong-key-0001");
    try {
      assertThatThrownBy(() -> anonymous.chat().completions().create(chat("x").build()))
          .isInstanceOf(UnauthorizedException.class);
    } finally {
      anonymous.close();
    }
  }
}
