package dev.tandem.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Software read-ahead for the batch-1 kernels that stream weights from memory once per token (Q8_0's
 * row-pair kernel): each block step also loads one byte {@link #BYTES} ahead, in its two rows by turns.
 *
 * <p>Why: with one thread the Q8_0 decode kernel ran at roughly compute time plus memory time (a
 * row-block 2.9 ns in cache, 4.6-4.8 ns streaming a memory-mapped file, while a bare read of the same
 * bytes took 1.7-2.2 ns): its ~57 instructions per block pair leave the out-of-order window only a few
 * cache lines ahead, and the hardware prefetcher stops at each 4 KiB page of the mapping. Java has no
 * prefetch instruction, so a plain load ahead starts the next lines' misses (and the next page's TLB
 * walk) early. 512 bytes ahead measured 8-27 % (mostly ~25 %) less time a row-block streaming, ~7 % more in cache
 * (one load, compare and conditional move more a step); one load per row each step instead of by
 * turns cost 17 % in cache. docs/benchmarks.md, "Decode read-ahead". The loads change no arithmetic,
 * so the results are bit for bit those without them. The same loads in F16's and Q4_0's batch-1
 * kernels made decode slower (12-25 % for F16), so only Q8_0 has them (same section).
 */
final class ReadAhead {
    private ReadAhead() {}

    /** How far ahead (tandem.readAhead, bytes; 0 turns the loads off). */
    static final long BYTES = KernelConfig.readAheadBytes();

    /**
     * Below this many bytes (tandem.readAheadMinBytes) a matrix is taken to stay in cache between tokens (a core's L2 here is
     * 512 KiB), where the loads only cost: ~7 % in cache, and the cpu calibration's small matvecs then
     * priced a tiny model's decode step 1.35x too slow (docs/benchmarks.md, "Decode read-ahead").
     */
    static final long MIN_MATRIX_BYTES = KernelConfig.readAheadMinBytes();

    /** Whether a matrix of this many bytes streams from memory, so that reading ahead pays. */
    static boolean streams(long matrixBytes) {
        return BYTES > 0 && matrixBytes >= MIN_MATRIX_BYTES;
    }

    /** Written only when {@link #consume} sees an impossible sum: a store C2 cannot rule out keeps the loads alive. */
    static int sink;

    /** The byte {@link #BYTES} after offset o, or the segment's last byte near its end. */
    static int touch(MemorySegment data, long o, long last) {
        return data.get(ValueLayout.JAVA_BYTE, Math.min(o + BYTES, last));
    }

    /**
     * Uses the sum of a kernel's touched bytes, so the JIT keeps their loads, without a shared write
     * per call (two threads writing one field would bounce its cache line between the cores).
     */
    static void consume(int touched) {
        if (touched == Integer.MIN_VALUE) {
            sink = touched;
        }
    }
}
