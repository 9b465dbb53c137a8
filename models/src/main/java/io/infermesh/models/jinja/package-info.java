/**
 * A Jinja2 engine for chat templates: the subset of Jinja2 (and of Python's value semantics under
 * it) that checkpoints' chat templates use, run the way Hugging Face transformers runs them, so a
 * checkpoint's own {@code chat_template} renders the prompt it was trained on. Entry point: {@link
 * io.infermesh.models.jinja.JinjaTemplate}.
 */
package io.infermesh.models.jinja;
