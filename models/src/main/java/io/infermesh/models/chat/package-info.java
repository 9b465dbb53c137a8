/**
 * Chat templates: the prompt text a model family was trained on for a list of {@link
 * io.infermesh.models.chat.ChatTurn}s (ChatML, Llama 3, Llama 2 / Mistral, Gemma, Phi-3), and the
 * choice among them from the Jinja source a model ships ({@code tokenizer.chat_template} in GGUF,
 * {@code chat_template} in a Hugging Face {@code tokenizer_config.json}). Used by the edge's
 * llama.cpp engine and the core's engine alike.
 */
package io.infermesh.models.chat;
