package dev.tandem.kernels;

import java.util.Arrays;

/**
 * Each thread's reusable arrays for the batched kernels' per-call work: the activations packed into
 * token tiles, their block scales and sums (filled by the calling thread, read by every worker inside
 * the call), and a worker's decoded weight panel. Each grows to the largest size its thread has asked
 * for and is never shrunk; what one returns is valid until that thread asks for the same slot again.
 *
 * <p>Why: fresh arrays cost megabytes a call in a prefill chunk (256 tokens x 2048-5632 columns),
 * half the bytes a TinyLlama prefill allocated (JFR allocation samples). G1 grew the heap to hold
 * that garbage, and on the 2-core VM the first touch of each new 2 MiB page (the kernel zeroing it)
 * took ~18 % of a pp256 run's CPU under perf (docs/benchmarks.md, "Prefill scratch reused").
 *
 * <p>Each slot has one user at a time on a thread: a kernel's caller asks for the packing slots
 * before its parallel call and its tasks (on every thread, the caller included) ask only for the
 * panel slots. A kernel never calls another batched kernel inside its call.
 */
final class BatchScratch {
    private static final ThreadLocal<BatchScratch> OF_THREAD = new ThreadLocal<>();

    private float[] packedActivations = new float[0];
    private float[] packedScales = new float[0];
    private float[] packedSums = new float[0];
    private float[] panel = new float[0];
    private float[] panelRows = new float[0];
    private float[] chainResults = new float[0];
    private float[] panelOut = new float[0];

    private BatchScratch() {}

    static BatchScratch ofThread() {
        BatchScratch s = OF_THREAD.get();
        if (s == null) {
            s = new BatchScratch();
            OF_THREAD.set(s);
        }
        return s;
    }

    /**
     * Room for tiles of tt tokens with perToken packed activations each, from {@link AlignedFloats#FIRST}
     * (a cache line, where known), tile after tile. When tokens do not fill the tiles, the last tile is
     * zeroed first: its padding tokens' outputs are dropped, but zeros keep their lanes' work
     * independent of what an earlier call left (a NaN, say).
     */
    float[] packedActivations(int tiles, int tt, int perToken, int tokens) {
        int n = tiles * tt * perToken;
        if (packedActivations.length < AlignedFloats.FIRST + n) {
            packedActivations = AlignedFloats.allocate(n);
        } else if (tokens < tiles * tt) {
            Arrays.fill(packedActivations, AlignedFloats.FIRST + n - tt * perToken, AlignedFloats.FIRST + n, 0f);
        }
        return packedActivations;
    }

    /** {@link #packedActivations}' block scales, perToken a token, in the same tiles. */
    float[] packedScales(int tiles, int tt, int perToken, int tokens) {
        int n = tiles * tt * perToken;
        if (packedScales.length < n) {
            packedScales = new float[n];
        } else if (tokens < tiles * tt) {
            Arrays.fill(packedScales, n - tt * perToken, n, 0f);
        }
        return packedScales;
    }

    /** {@link #packedActivations}' sub-block sums (the K-quants' mins), perToken a token, in the same tiles. */
    float[] packedSums(int tiles, int tt, int perToken, int tokens) {
        int n = tiles * tt * perToken;
        if (packedSums.length < n) {
            packedSums = new float[n];
        } else if (tokens < tiles * tt) {
            Arrays.fill(packedSums, n - tt * perToken, n, 0f);
        }
        return packedSums;
    }

    /** Room for a task's n decoded panel weights. */
    float[] panel(int n) {
        return panel = atLeast(panel, n);
    }

    /** Room for a task's n weights of decoded rows before they go into its panel ({@link TokenGemm}'s groups). */
    float[] panelRows(int n) {
        return panelRows = atLeast(panelRows, n);
    }

    /** Room for a task's n register-tile results before their final sums ({@link TokenGemm}'s chains). */
    float[] chainResults(int n) {
        return chainResults = atLeast(chainResults, n);
    }

    /** Room for a task's n outputs of a panel, token-major, before they are copied out. */
    float[] panelOut(int n) {
        return panelOut = atLeast(panelOut, n);
    }

    /** a, or a fresh array of n when a is shorter. */
    private static float[] atLeast(float[] a, int n) {
        return a.length < n ? new float[n] : a;
    }
}
