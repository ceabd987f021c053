package dev.tandem.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.function.Supplier;

/**
 * A copy of a quantized matrix laid out for the batch-1 integer kernels: rows taken in pairs
 * (2p, 2p+1), their blocks interleaved, so block b of pair p is one run of 2 * payload bytes (row
 * 2p's quants, then row 2p+1's) and the two rows' block scales are adjacent floats. An odd last row
 * is paired with a zero row. Q8_0 and Q4_0 copy their quants as they are; the K-quants lay out
 * their own payload ({@link BlockCopy}): Q4_K its six-bit scales and mins unpacked to one byte each,
 * then its nibbles; Q6_K its six-bit weights unpacked to one byte each (at 512 bits packed again in
 * a layout its kernel rebuilds cheaply, {@link Q6_KSixBits}), then its scales; both their
 * f16 super-block scales as floats, so the kernel loops unpack no scale bits.
 *
 * <p>Why: in the file's layout (an f16 scale inside each 34- or 18-byte block) a row-pair kernel
 * streams two rows at unaligned strides and converts two f16 scales per step; ~40 % of Q8_0's
 * instructions were address arithmetic, reloads and scale conversions (KERNELS.md, session 7), and
 * the hardware prefetcher followed two streams per thread, each stopping at every 4 KiB page. Here a
 * step reads one run of bytes at an int index from a heap array and one float per row, and a thread
 * streams one sequential range. docs/benchmarks.md, "Decode on paired rows" and "K-quant decode on
 * paired rows", has the figures.
 *
 * <p>Only the layout changes: the kernels keep {@link IntDot}'s arithmetic, so every value is
 * bit-identical to the file-layout kernels and their scalar twins.
 *
 * <p>Memory: a second copy of the weights on the heap (1.06x a Q8_0 file's bytes, 1.11x a Q4_0
 * file's, 1.06x Q4_K's, 1.59x Q5_K's, 1.31x Q6_K's in bytes, 1.01x in its six-bit form at 512
 * bits), built on a matrix's first warm batch-1 product. When the heap cannot spare twice that, or the copy would not fit one Java array, the
 * matrix keeps running on the file's layout.
 */
final class PairedRows {
    /** Pair p, block b at ({@link #index}(p, b) * 2 * payload): row 2p's payload bytes, then row 2p+1's. */
    final byte[] q;
    /** Pair p, block b at ({@link #index}(p, b) * 2 * floats): row 2p's scale(s), then row 2p+1's (floats: 1, Q4_K 2). */
    final float[] d;
    final int blocks;
    /**
     * Blocks per column segment (the last may be shorter); blocks itself (one segment) unless a format
     * asks for segments. Segment s of every pair comes before segment s+1 of any, so a kernel that runs
     * a range of pairs one segment at a time still streams one sequential range, while the activations
     * it reads stay a segment long (see {@link #segmentFor}).
     */
    final int segment;
    private final int pairs;

    private PairedRows(byte[] q, float[] d, int blocks, int segment, int pairs) {
        this.q = q;
        this.d = d;
        this.blocks = blocks;
        this.segment = segment;
        this.pairs = pairs;
    }

    /** Column segments. */
    int segments() {
        return (blocks + segment - 1) / segment;
    }

    /** First block of segment s. */
    int segmentStart(int s) {
        return s * segment;
    }

    /** One past the last block of segment s. */
    int segmentEnd(int s) {
        return Math.min(blocks, (s + 1) * segment);
    }

    /** f such that pair p's block b of segment s is at index f + b. */
    int first(int p, int s) {
        int start = s * segment;
        return start * pairs + p * (segmentEnd(s) - start) - start;
    }

    /** Where pair p's block b lives: run index * 2 + h is row 2p+h's. */
    int index(int p, int b) {
        return first(p, b / segment) + b;
    }

    /**
     * Blocks per segment for rows of this many blocks when a segment should hold at most maxBlocks:
     * the fewest segments, of near-equal length.
     */
    static int segmentFor(int blocks, int maxBlocks) {
        int count = Math.max(1, (blocks + maxBlocks - 1) / Math.max(1, maxBlocks));
        return Math.max(1, (blocks + count - 1) / count);
    }

    /**
     * The paired copy of rows x blocks blocks of blockBytes each (an f16 scale, then payload bytes),
     * or null when it does not fit (see the class comment).
     */
    static PairedRows of(MemorySegment data, int rows, int blocks, int blockBytes, int payload) {
        return of(data, rows, blocks, blockBytes, payload, blocks);
    }

    /** {@link #of(MemorySegment, int, int, int, int)} in column segments of segment blocks. */
    static PairedRows of(MemorySegment data, int rows, int blocks, int blockBytes, int payload, int segment) {
        BlockCopy copy = (o, q, qAt, d, dAt) -> {
            d[dAt] = Float.float16ToFloat(data.get(Vec.SHORT_LE, o));
            MemorySegment.copy(data, ValueLayout.JAVA_BYTE, o + 2, q, qAt, payload);
        };
        // One thread: a byte copy per block, which two threads did not make faster (TinyLlama Q4_0, a cold
        // 32-token generate, 1.07-1.10x as long with it on the pool; docs/benchmarks.md, "The paired copies on the pool").
        return of(data, rows, blocks, blockBytes, payload, 1, segment, Integer.MAX_VALUE, () -> copy);
    }

    /**
     * How a format turns the block at byte offset o into payload bytes at q[qAt..] and floats at d[dAt..]; one
     * thread's (a copy may hold scratch).
     */
    @FunctionalInterface
    interface BlockCopy {
        void copy(long o, byte[] q, int qAt, float[] d, int dAt);
    }

    /**
     * The paired copy with a format's own block layout (the K-quants: scales unpacked at copy time):
     * row-block (pair p, block b, row h) at = (p * blocks + b) * 2 + h holds payload bytes at
     * q[at * payload] and floats floats at d[at * floats], as copy writes them; null when it does not fit.
     */
    static PairedRows of(MemorySegment data, int rows, int blocks, int blockBytes, int payload, int floats, Supplier<BlockCopy> copier) {
        return of(data, rows, blocks, blockBytes, payload, floats, blocks, COPY_ROWS, copier);
    }

    /** Rows per chunk of a K-quant copy, which is spread over the pool (each chunk with its own BlockCopy and scratch). */
    private static final int COPY_ROWS = 16;

    private static PairedRows of(MemorySegment data, int rows, int blocks, int blockBytes, int payload, int floats, int segment,
                                 int chunkRows, Supplier<BlockCopy> copier) {
        long pairs = (rows + 1L) / 2;
        long bytes = pairs * blocks * 2 * payload;
        long scales = pairs * blocks * 2 * floats;
        Runtime rt = Runtime.getRuntime();
        if (!fits(bytes, scales * Float.BYTES, rt.maxMemory() - (rt.totalMemory() - rt.freeMemory()))) {
            return null;
        }
        byte[] q;
        float[] d;
        try {
            q = new byte[(int) bytes];
            d = new float[(int) scales];
        } catch (OutOfMemoryError e) { // another allocation won the race for the heap: keep the file's layout
            return null;
        }
        PairedRows copied = new PairedRows(q, d, blocks, Math.max(1, Math.min(segment, blocks)), (int) pairs);
        // On the pool: every row-block has its own slot, so the copy is the same however the rows are split. Made
        // at a matrix's first batch-1 call, in a fresh JVM a K-quant copy ran its vector unpacking in the Vector
        // API's fallback on one thread while the others waited (a TinyLlama Q4_K_M file's copies ~3 s of a cold
        // first token). Called from a pool task, it runs on that thread alone (Parallel runs nested calls inline).
        Parallel.forRange(rows, chunkRows, (start, end) -> {
            BlockCopy copy = copier.get();
            for (int r = start; r < end; r++) {
                int p = r >> 1, h = r & 1;
                long row = (long) r * blocks * blockBytes;
                for (int b = 0; b < blocks; b++) {
                    int at = copied.index(p, b) * 2 + h;
                    copy.copy(row + (long) b * blockBytes, q, at * payload, d, at * floats);
                }
            }
        });
        return copied;
    }

    /** Whether quant and scale arrays of these sizes fit Java arrays and half of the heap still free. */
    static boolean fits(long quantBytes, long scaleBytes, long heapFree) {
        return quantBytes <= Integer.MAX_VALUE - 64 && scaleBytes / Float.BYTES <= Integer.MAX_VALUE - 64
                && quantBytes + scaleBytes <= heapFree / 2;
    }

    /** Rows r .. r+n-1 of a paired copy: n = 2 with r even (a pair), or n = 1 (a single row). */
    interface RowRun {
        void run(int r, int n);
    }

    /** Rows [start, end) in the kernels' order: a single row at an odd start, pairs, a single row at an odd end. */
    static void forRows(int start, int end, RowRun body) {
        int r = start;
        if ((r & 1) == 1 && r < end) {
            body.run(r, 1);
            r++;
        }
        for (; r + 1 < end; r += 2) {
            body.run(r, 2);
        }
        if (r < end) {
            body.run(r, 1);
        }
    }

    /** A matrix's paired copy, built once by the first caller; threads that arrive meanwhile wait for it. */
    static final class Lazy {
        private static final Object NONE = new Object();
        private volatile Object value;

        /** The copy, or null when pairing is off or it did not fit (then never retried). */
        PairedRows get(Supplier<PairedRows> build) {
            Object v = value;
            if (v == null) {
                synchronized (this) {
                    v = value;
                    if (v == null) {
                        PairedRows built = IntDot.WIDE && KernelConfig.pairRows() ? build.get() : null;
                        value = v = built == null ? NONE : built;
                    }
                }
            }
            return v == NONE ? null : (PairedRows) v;
        }
    }
}
