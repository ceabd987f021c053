package dev.tandem.runtime;

import dev.tandem.runtime.generate.Sampling;

/**
 * One generated token as it streams out.
 *
 * @param id       vocabulary id
 * @param text     the text this token completes (may be empty while a multi-byte character is
 *                 split across byte tokens, and is empty for models without a text vocabulary)
 * @param position the sequence position the token will occupy
 * @param logprobs its log-probability and the most likely alternatives when {@link Sampling#logprobs()}
 *                 asked for them; null otherwise
 */
public record Token(int id, String text, int position, TokenLogprobs logprobs) {

    public Token(int id, String text, int position) {
        this(id, text, position, null);
    }
}
