package dev.tandem.runtime.engine;

import dev.tandem.runtime.GenerationResult;
import dev.tandem.runtime.generate.Sampling;
import dev.tandem.runtime.StopReason;
import dev.tandem.runtime.Token;
import dev.tandem.runtime.TokenLogprobs;
import dev.tandem.runtime.generate.Sampler;
import dev.tandem.runtime.tokenizer.StreamingDecoder;

import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * One request inside the engine: its tokens (prompt, then what it generated), how many of them the
 * KV pool holds, its block table, its sampler and its callback. Every field but {@link #cancelled}
 * belongs to the engine's step thread; the future is how other threads see the end.
 *
 * <p>The stop rules are {@code Session.generate}'s, in its order (stop id, then max tokens, then a
 * full context), so a request ends where a session would.
 */
final class RequestState {
    final long id;
    final int[] prompt;
    private final Sampling sampling;
    private final Sampler sampler;
    private final Consumer<Token> onToken;
    private final Consumer<float[]> onLogits;
    private final StreamingDecoder text;
    private final int eos, contextLength, vocab;
    final CompletableFuture<GenerationResult> future = new CompletableFuture<>();
    volatile boolean cancelled;

    private final int[] tokens;   // prompt then generated; [0, length) valid
    private int length;
    /** Positions whose keys and values are in the pool: tokens [0, computed) have run. */
    int computed;
    final int[] blockTable;
    int blocksHeld;
    private float[] promptLogits;
    private GenerationResult result;
    private final long submittedAt;
    private long firstTokenAt;

    RequestState(long id, int[] prompt, Sampling sampling, Consumer<Token> onToken, Consumer<float[]> onLogits,
                 StreamingDecoder text, int eos, int contextLength, int blockSize, int vocab) {
        this.id = id;
        this.prompt = prompt.clone();
        this.sampling = sampling;
        this.sampler = new Sampler(sampling, prompt);
        this.onToken = onToken;
        this.onLogits = onLogits;
        this.text = text;
        this.eos = eos;
        this.contextLength = contextLength;
        this.vocab = vocab;
        // One more than the context: the last token may be chosen yet never run.
        this.tokens = Arrays.copyOf(prompt, contextLength + 1);
        this.length = prompt.length;
        this.blockTable = new int[(contextLength + blockSize - 1) / blockSize];
        this.submittedAt = System.nanoTime();
    }

    /** Tokens still to run before the next logits: the prompt (or all, after preemption), or the last token. */
    int pending() { return length - computed; }

    int token(int i) { return tokens[i]; }

    int generatedCount() { return length - prompt.length; }

    /**
     * Takes the logits after the last token and picks the next one.
     * @return whether the request is finished; its result waits for {@link #publish()}
     */
    boolean accept(float[] logits, int off) {
        float[] row = Arrays.copyOfRange(logits, off, off + vocab);
        if (onLogits != null) {
            onLogits.accept(row);
        }
        if (promptLogits == null) {
            promptLogits = row;
        }
        if (generatedCount() >= sampling.maxTokens()) {
            return finish(StopReason.MAX_TOKENS);
        }
        int next = sampler.sample(row, vocab);
        int position = length;
        tokens[length++] = next;
        if (generatedCount() == 1) {
            firstTokenAt = System.nanoTime();
        }
        if (onToken != null) {
            onToken.accept(new Token(next, text == null ? "" : text.accept(next), position, logprobs(row, next)));
        }
        if (sampling.stopAtEos() && next == eos || sampling.isStopToken(next)) {
            return finish(StopReason.EOS);
        }
        if (generatedCount() >= sampling.maxTokens()) {
            return finish(StopReason.MAX_TOKENS);
        }
        if (length - 1 >= contextLength) {
            // The new token would sit at position contextLength: there is no room to run it.
            return finish(StopReason.CONTEXT_FULL);
        }
        return false;
    }

    private TokenLogprobs logprobs(float[] row, int chosen) {
        return sampling.logprobs() < 0 ? null : TokenLogprobs.of(row, vocab, chosen, sampling.logprobs());
    }

    /** Completes the future with the result {@link #accept} reached; called once the request's blocks are free. */
    void publish() {
        future.complete(result);
    }

    private boolean finish(StopReason reason) {
        long end = System.nanoTime();
        long first = firstTokenAt == 0 ? end : firstTokenAt;
        result = (new GenerationResult(prompt.clone(), Arrays.copyOfRange(tokens, prompt.length, length), promptLogits,
                reason, first - submittedAt, generatedCount() > 0 ? end - first : 0));
        return true;
    }
}
