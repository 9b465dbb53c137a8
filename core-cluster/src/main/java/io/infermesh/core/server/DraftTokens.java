package io.infermesh.core.server;

import io.infermesh.api.v1.GenerateRequest;
import io.infermesh.models.tokenizer.Tokenizer;
import java.util.Arrays;

/**
 * An escalated request's draft ({@code escalation.local_draft}, the edge's own answer) as the
 * core's token ids, bounded: the first {@link #MAX_BYTES} UTF-8 bytes (cut at a character), then
 * at most {@code max_tokens} tokens. A draft only ever raises or lowers how many tokens the core
 * accepts in one step, never the answer, so cutting it is always safe.
 *
 * <p>The draft is tokenized alone (no BOS, special-token text kept as text), not as
 * prompt + draft: the prompt's ids must be exactly those the core decodes after without a draft,
 * and a joint tokenization could merge across the boundary and change them. Tokenizing alone can
 * differ from what the core would emit at the boundary (a leading-space piece, a merge the model
 * would not make) — that only lowers acceptance. Stateless.
 */
final class DraftTokens {
  /** The longest draft prefix tokenized, in UTF-8 bytes: linear work, and well past any max_tokens answer. */
  static final int MAX_BYTES = 64 * 1024;

  private DraftTokens() {}

  /** The draft of {@code request} in {@code tokenizer}'s ids, at most {@code maxTokens}; empty for none. */
  static int[] of(GenerateRequest request, Tokenizer tokenizer, int maxTokens) {
    String draft = request.hasEscalation() ? request.getEscalation().getLocalDraft() : "";
    if (draft.isEmpty()) {
      return new int[0];
    }
    int[] ids = tokenizer.encode(prefix(draft, MAX_BYTES), false, false);
    return ids.length > maxTokens ? Arrays.copyOf(ids, maxTokens) : ids;
  }

  /** The longest prefix of {@code text} of at most {@code maxBytes} UTF-8 bytes that ends at a code point. */
  static String prefix(String text, int maxBytes) {
    if (text.length() * 3L <= maxBytes) {
      return text; // no UTF-16 unit takes more than 3 bytes (a surrogate pair takes 4 for 2 units)
    }
    int bytes = 0;
    for (int i = 0; i < text.length(); ) {
      int cp = text.codePointAt(i);
      int n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
      if (bytes + n > maxBytes) {
        return text.substring(0, i);
      }
      bytes += n;
      i += Character.charCount(cp);
    }
    return text;
  }
}
