package io.infermesh.edge.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.openai.client.OpenAIClient;
import com.openai.errors.BadRequestException;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import io.infermesh.edge.EdgeAgent;
import io.infermesh.edge.FakeEngine;
import io.infermesh.edge.SdkEdge;
import io.infermesh.edge.TinyModel;
import org.junit.jupiter.api.Test;

/** A chat the model's own template refuses (its {@code raise_exception}) is the client's error: 400 naming messages. */
class ChatTemplateRefusalHttpTest {
  @Test
  void create_templateRaises_is400WithTheTemplatesMessage() throws Exception {
    FakeEngine fake = new FakeEngine(512, 1);
    fake.refuseChats("Conversation roles must alternate user/assistant/user/assistant/...");
    try (EdgeAgent agent = EdgeAgent.builder(TinyModel.config()).engine(fake).start()) {
      OpenAIClient client = SdkEdge.client(agent, "unused");

      assertThatThrownBy(() -> client.chat().completions().create(ChatCompletionCreateParams.builder().model("fake")
          .addUserMessage("a").addUserMessage("b").maxCompletionTokens(4).build()))
          .isInstanceOfSatisfying(BadRequestException.class, e -> {
            assertThat(e.getMessage()).contains("the model's chat template refused the chat: Conversation roles "
                + "must alternate");
            assertThat(e.param()).contains("messages");
          });
      assertThat(fake.started()).isZero();
      client.close();
    }
  }
}
