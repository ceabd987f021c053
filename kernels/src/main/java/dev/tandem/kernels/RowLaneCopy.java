package dev.tandem.kernels;

import static dev.tandem.kernels.Vec.FL;

import java.util.Arrays;

/**
 * A Q8_0 or Q4_0 matrix's weights laid out for {@link RowLaneGemm}: FL rows side by side, so that one
 * load gives one element of FL rows.
 *
 * <p>Row vector v holds rows FL*v .. FL*v+FL-1 (zero rows past the end, to a whole number of register
 * tiles). Its block scales d_w are floats at d[(v * blocks + b) * FL + row - FL*v]. Its integers, for
 * IntDot's lane k of block b (elements 2k, 2k+1, 16+2k, 17+2k, here e = 0..3) as bytes, Q4_0's
 * element e at q[(((v * 8 + k) * blocks + b) * 4 + e) * FL + row - FL*v]: one lane's blocks after another,
 * so a lane's pass over a row reads one sequential run; 1.06x a Q8_0 file's bytes. Q4_0's recentred
 * nibbles (-8..7) go two a byte ({@link #pair}), elements 2p and 2p+1 at
 * q[(((v * 8 + k) * blocks + b) * 2 + p) * FL + row - FL*v]: 1.06x a Q4_0 file's bytes, not the 2.1x of a
 * byte each. The kernel widens FL such bytes to ints once and shifts both nibbles out (an earlier
 * attempt, shifting bytes before widening, ran in the Vector API's Java fallback at 0.8 GMAC/s).
 *
 * <p>Built from the file's bytes in plain Java on a matrix's first batched product: before C2 has
 * compiled the formats' vector decoders their interpreted Vector API calls cost ~50x as much. When the
 * heap cannot spare the copy twice over, or it would not fit one Java array, the matrix has none.
 */
final class RowLaneCopy {
    private static final int BLOCK = Q8Activations.BLOCK;
    private static final int LANES = 8;

    final byte[] q;
    final float[] d;
    final int rowVectors;
    final int blocks;
    /** Two elements a byte (Q4_0): element 2p's nibble low, 2p+1's high, both signed. */
    final boolean nibbles;

    private RowLaneCopy(byte[] q, float[] d, int rowVectors, int blocks, boolean nibbles) {
        this.q = q;
        this.d = d;
        this.rowVectors = rowVectors;
        this.blocks = blocks;
        this.nibbles = nibbles;
    }

    /** Bytes of one lane's block of one row vector: 4 elements of FL rows, one or two a byte. */
    int laneBlockBytes() {
        return nibbles ? 2 * FL : 4 * FL;
    }

    /** The copy of w with rowVectors row vectors (a whole number of register tiles), or null when it does not fit. */
    static RowLaneCopy of(IntDot.Format w, int rowVectors) {
        int cols = w.cols(), blocks = cols / BLOCK;
        boolean nibbles = w instanceof Q4_0Matrix && KernelConfig.rowLaneNibbles();
        long bytes = (long) rowVectors * FL * cols / (nibbles ? 2 : 1), scales = (long) rowVectors * FL * blocks;
        Runtime rt = Runtime.getRuntime();
        if (!PairedRows.fits(bytes, scales * Float.BYTES, rt.maxMemory() - (rt.totalMemory() - rt.freeMemory()))) {
            return null;
        }
        RowLaneCopy c = new RowLaneCopy(new byte[(int) bytes], new float[(int) scales], rowVectors, blocks, nibbles);
        Parallel.forRange(rowVectors, 1, (start, end) -> {
            byte[][] ints = new byte[FL][cols];
            float[][] ds = new float[FL][blocks];
            for (int v = start; v < end; v++) {
                int n = Math.min(FL, w.rows() - v * FL); // rows past the end stay zero
                for (int i = 0; i < FL; i++) {
                    if (i < n) {
                        integers(w, v * FL + i, ints[i], ds[i]);
                    } else {
                        Arrays.fill(ints[i], (byte) 0);
                        Arrays.fill(ds[i], 0f);
                    }
                }
                c.put(v, ints, ds);
            }
        });
        return c;
    }

    /** Row {@code row}'s integers in element order into dst and its block scales d_w into ds. */
    private static void integers(IntDot.Format w, int row, byte[] dst, float[] ds) {
        WeightMatrix m = (WeightMatrix) w;
        byte[] raw = ColdTwins.row(m.data, m.rowOffset(row), (int) m.rowBytes);
        switch (w) {
            case Q8_0Matrix q8 -> {
                for (int b = 0, o = 0; b < ds.length; b++, o += Q8_0Matrix.BLOCK_BYTES) {
                    ds[b] = IntDot.half(raw, o);
                    System.arraycopy(raw, o + 2, dst, b * BLOCK, BLOCK);
                }
            }
            case Q4_0Matrix q4 -> {
                for (int b = 0, o = 0; b < ds.length; b++, o += Q4_0Matrix.BLOCK_BYTES) {
                    ds[b] = IntDot.half(raw, o);
                    for (int k = 0; k < Q4_0Matrix.HALF; k++) {
                        int packed = raw[o + 2 + k] & 0xFF;
                        dst[b * BLOCK + k] = (byte) ((packed & 0x0F) - 8);
                        dst[b * BLOCK + Q4_0Matrix.HALF + k] = (byte) ((packed >>> 4) - 8);
                    }
                }
            }
        }
    }

    /** Row vector v from its FL rows' integers (element order) and block scales, written in the copy's order. */
    private void put(int v, byte[][] ints, float[][] ds) {
        for (int b = 0; b < blocks; b++) {
            int at = (v * blocks + b) * FL;
            for (int i = 0; i < FL; i++) {
                d[at + i] = ds[i][b];
            }
        }
        int laneBlockBytes = laneBlockBytes(), at = v * LANES * blocks * laneBlockBytes;
        for (int k = 0; k < LANES; k++) {
            for (int b = 0; b < blocks; b++) {
                int e = b * BLOCK + 2 * k;
                for (int i = 0; i < FL; i++, at++) {
                    byte[] row = ints[i];
                    if (nibbles) {
                        q[at] = pair(row[e], row[e + 1]);
                        q[at + FL] = pair(row[e + 16], row[e + 17]);
                    } else {
                        q[at] = row[e];
                        q[at + FL] = row[e + 1];
                        q[at + 2 * FL] = row[e + 16];
                        q[at + 3 * FL] = row[e + 17];
                    }
                }
                at += laneBlockBytes - FL;
            }
        }
    }

    /** Two recentred Q4_0 integers (-8..7) in one byte: lo's low 4 bits, hi above them, so that an arithmetic shift right by 4 gives hi. */
    static byte pair(byte lo, byte hi) {
        return (byte) ((lo & 0x0F) | (hi << 4));
    }

    /** A matrix's copy, built once by the first caller; threads that arrive meanwhile wait for it. */
    static final class Lazy {
        private static final Object NONE = new Object();
        private volatile Object value;

        /** The copy, or null when it did not fit (then never retried). */
        RowLaneCopy get(IntDot.Format w, int rowVectors) {
            Object v = value;
            if (v == null) {
                synchronized (this) {
                    v = value;
                    if (v == null) {
                        RowLaneCopy built = of(w, rowVectors);
                        value = v = built == null ? NONE : built;
                    }
                }
            }
            return v == NONE ? null : (RowLaneCopy) v;
        }
    }
}
