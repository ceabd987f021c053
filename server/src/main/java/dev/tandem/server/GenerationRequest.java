package dev.tandem.server;

import java.util.List;
import java.util.Map;

/**
 * One /v1/completions or /v1/chat/completions request, checked field by field ({@link RequestParser}).
 * Exactly one of promptText, promptIds and messages is set.
 *
 * @param maxTokens    null: OpenAI's default (16 for completions, the rest of the context for chat)
 * @param minP         keep tokens at least this times as likely as the likeliest (0 none)
 * @param penalties    presence, frequency and repetition penalties over prompt and output
 * @param seed         null: a fresh seed per request
 * @param ignoreEos    vLLM's extension: generate past EOS (up to max_tokens)
 * @param returnTokenIds vLLM's extension: each choice also carries its generated token_ids
 * @param includeUsage stream_options.include_usage: a last chunk with the usage
 * @param logprobs     alternatives per token with their log-probabilities (completions' logprobs,
 *                     chat's top_logprobs); 0 only the chosen token's, -1 none
 */
record GenerationRequest(boolean chat, String model, String promptText, int[] promptIds,
                         List<Map<String, Object>> messages, Integer maxTokens, float temperature, float topP,
                         int topK, float minP, dev.tandem.runtime.generate.Sampling.Penalties penalties, Long seed, List<String> stop, boolean stream, boolean includeUsage,
                         boolean returnTokenIds, boolean ignoreEos, int logprobs) {

    /** The field the prompt came in, for errors about it. */
    String promptField() { return chat ? "messages" : "prompt"; }
}
