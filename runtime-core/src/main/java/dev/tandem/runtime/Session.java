package dev.tandem.runtime;

import dev.tandem.runtime.error.ContextLengthException;
import dev.tandem.runtime.exec.Forward;
import dev.tandem.runtime.generate.Sampler;
import dev.tandem.runtime.generate.Sampling;
import dev.tandem.runtime.tokenizer.StreamingDecoder;
import dev.tandem.runtime.tokenizer.Tokenizer;

import java.util.Arrays;
import java.util.function.Consumer;

/**
 * One conversation with a model: a KV cache of {@link #contextLength()} positions and the buffers
 * of a forward pass. Each generate call starts a fresh sequence at position 0.
 * Not thread-safe; open one session per concurrent user.
 */
public final class Session implements AutoCloseable {
    private final Model model;
    private final Forward forward;
    private final String deviceName;
    private boolean closed;

    Session(Model model, Forward forward, String deviceName) {
        this.model = model;
        this.forward = forward;
        this.deviceName = deviceName;
    }

    /** The device this session computes on. */
    public String deviceName() { return deviceName; }

    public Model model() { return model; }

    /** Positions this session's KV cache holds: prompt plus generated tokens. */
    public int contextLength() { return forward.maxPositions(); }

    /** Encodes text with BOS and generates from it; onToken sees each token as it is chosen. */
    public GenerationResult generate(String prompt, Sampling sampling, Consumer<Token> onToken) {
        return generate(model.encode(prompt), sampling, onToken);
    }

    /** Generates from the prompt ids exactly as given (no BOS is added). */
    public GenerationResult generate(int[] promptIds, Sampling sampling, Consumer<Token> onToken) {
        if (closed) {
            throw new IllegalStateException("session is closed");
        }
        checkPrompt(promptIds);
        Tokenizer tokenizer = model.tokenizer().orElse(null);
        // Seeded with the last prompt token, so the first piece follows the leading-space rules.
        StreamingDecoder text = tokenizer == null ? null : new StreamingDecoder(tokenizer, promptIds[promptIds.length - 1]);
        int eos = tokenizer == null ? -1 : tokenizer.eos();
        int vocab = model.config().vocabSize();
        Sampler sampler = new Sampler(sampling, promptIds);

        long start = System.nanoTime();
        float[] logits = forward.prefill(promptIds, 0);
        float[] promptLogits = Arrays.copyOf(logits, vocab);
        int[] generated = new int[Math.min(sampling.maxTokens(), contextLength() - promptIds.length + 1)];
        int count = 0;
        int pos = promptIds.length;
        long firstTokenAt = start;
        StopReason stop = StopReason.MAX_TOKENS;
        while (count < sampling.maxTokens()) {
            if (count > 0) {
                if (pos >= contextLength()) {
                    stop = StopReason.CONTEXT_FULL;
                    break;
                }
                logits = forward.forward(generated[count - 1], pos++);
            }
            int next = sampler.sample(logits, vocab);
            generated[count++] = next;
            if (count == 1) {
                firstTokenAt = System.nanoTime();
            }
            if (onToken != null) {
                onToken.accept(new Token(next, text == null ? "" : text.accept(next), pos,
                        sampling.logprobs() < 0 ? null : TokenLogprobs.of(logits, vocab, next, sampling.logprobs())));
            }
            if (sampling.stopAtEos() && next == eos || sampling.isStopToken(next)) {
                stop = StopReason.EOS;
                break;
            }
        }
        long end = System.nanoTime();
        return new GenerationResult(promptIds.clone(), Arrays.copyOf(generated, count), promptLogits, stop,
                firstTokenAt - start, count > 0 ? end - firstTokenAt : 0);
    }

    private void checkPrompt(int[] promptIds) {
        if (promptIds.length == 0) {
            throw new IllegalArgumentException("the prompt is empty: give at least one token");
        }
        if (promptIds.length > contextLength()) {
            throw new ContextLengthException("the prompt has " + promptIds.length + " tokens but the context holds "
                    + contextLength() + " positions");
        }
        int vocab = model.config().vocabSize();
        for (int i = 0; i < promptIds.length; i++) {
            if (promptIds[i] < 0 || promptIds[i] >= vocab) {
                throw new IllegalArgumentException("prompt token " + i + " is id " + promptIds[i]
                        + ", outside the vocabulary [0, " + vocab + ")");
            }
        }
    }

    /** Frees the KV cache and, on a device, the uploaded weights. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            forward.close();
        }
    }
}
