package dev.tandem.runtime.engine;

import dev.tandem.runtime.device.KvPoolSpec;

/**
 * How an {@link Engine} is sized. Immutable; each setter returns a copy; {@link Engine#open} checks
 * the values against the model and throws {@link EngineConfigException} naming the limit.
 *
 * @param contextLength   positions one sequence may hold (prompt plus generated), at most the model's
 * @param blockSize       positions per KV block
 * @param kvBlocks        KV blocks in the pool; 0 sizes it for maxSequences full contexts
 * @param maxSequences    sequences in flight (running) at once
 * @param maxBatchTokens  tokens per step: decode rows first, the rest of the budget for prefill chunks
 * @param queueCapacity   requests waiting for admission before {@link Engine#submit} reports overload
 */
public record EngineConfig(int contextLength, int blockSize, int kvBlocks, int maxSequences, int maxBatchTokens,
                           int queueCapacity) {

    /** Steps above this many rows would need scratch no machine has; a typo, not a request. */
    public static final int MAX_BATCH_TOKENS = 1 << 16;
    /** Sequences in flight above this: the scheduler's per-step work would dominate. */
    public static final int MAX_SEQUENCES = 1 << 12;

    /** A context of contextLength, blocks of 16, a pool for 64 full sequences, 64 in flight, 256 tokens a step. */
    public static EngineConfig defaults(int contextLength) {
        return new EngineConfig(contextLength, KvPoolSpec.DEFAULT_BLOCK_SIZE, 0, 64, 256, 1024);
    }

    public EngineConfig contextLength(int n) { return new EngineConfig(n, blockSize, kvBlocks, maxSequences, maxBatchTokens, queueCapacity); }

    public EngineConfig blockSize(int n) { return new EngineConfig(contextLength, n, kvBlocks, maxSequences, maxBatchTokens, queueCapacity); }

    public EngineConfig kvBlocks(int n) { return new EngineConfig(contextLength, blockSize, n, maxSequences, maxBatchTokens, queueCapacity); }

    public EngineConfig maxSequences(int n) { return new EngineConfig(contextLength, blockSize, kvBlocks, n, maxBatchTokens, queueCapacity); }

    public EngineConfig maxBatchTokens(int n) { return new EngineConfig(contextLength, blockSize, kvBlocks, maxSequences, n, queueCapacity); }

    public EngineConfig queueCapacity(int n) { return new EngineConfig(contextLength, blockSize, kvBlocks, maxSequences, maxBatchTokens, n); }

    /** The pool this config asks for, after checking every field against the model's context. */
    KvPoolSpec validate(int modelContext) {
        range("contextLength", contextLength, 1, modelContext, "the model's context length");
        range("blockSize", blockSize, 1, contextLength, "the context length");
        range("maxSequences", maxSequences, 1, MAX_SEQUENCES, "EngineConfig.MAX_SEQUENCES");
        range("maxBatchTokens", maxBatchTokens, 1, MAX_BATCH_TOKENS, "EngineConfig.MAX_BATCH_TOKENS");
        range("queueCapacity", queueCapacity, 1, Integer.MAX_VALUE, "Integer.MAX_VALUE");
        if (kvBlocks < 0) {
            throw new EngineConfigException("kvBlocks must be >= 0 (0 sizes the pool for maxSequences full contexts), got " + kvBlocks);
        }
        int perSequence = (contextLength + blockSize - 1) / blockSize;
        long blocks = kvBlocks > 0 ? kvBlocks : (long) perSequence * maxSequences;
        if (blocks < perSequence) {
            throw new EngineConfigException("a KV pool of " + blocks + " blocks of " + blockSize + " positions cannot hold even one"
                    + " sequence of the context length " + contextLength + ", which needs " + perSequence + " blocks");
        }
        if (blocks * blockSize > Integer.MAX_VALUE) {
            throw new EngineConfigException("a KV pool of " + blocks + " blocks of " + blockSize + " positions exceeds "
                    + Integer.MAX_VALUE + " positions");
        }
        return new KvPoolSpec(blockSize, (int) blocks);
    }

    private static void range(String name, int value, int min, int max, String maxName) {
        if (value < min || value > max) {
            throw new EngineConfigException(name + " must be in [" + min + ", " + max + "] (" + maxName + "), got " + value);
        }
    }
}
