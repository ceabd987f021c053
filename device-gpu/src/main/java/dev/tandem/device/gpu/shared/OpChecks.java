package dev.tandem.device.gpu.shared;

import dev.tandem.runtime.device.BatchRows;
import dev.tandem.runtime.device.KvPoolSpec;

/**
 * The argument checks every GPU backend makes before it launches a kernel: a kernel given a wrong
 * length reads or writes outside its buffers, so each op refuses that first, naming the argument.
 */
public final class OpChecks {
    private OpChecks() {}

    public static void requirePositive(int value, String what) {
        if (value <= 0) throw new IllegalArgumentException(what + " must be positive, got " + value);
    }

    /** A buffer of have floats must hold need. */
    public static void requireLength(long have, long need, String what) {
        if (have < need) throw new IllegalArgumentException(what + " needs " + need + " floats, the buffer holds " + have);
    }

    public static void requireRope(int nHeads, int headDim, int pos0, int batch) {
        requirePositive(nHeads, "nHeads");
        requirePositive(batch, "batch");
        if (headDim <= 0 || headDim % 2 != 0) throw new IllegalArgumentException("headDim must be positive and even, got " + headDim);
        if (pos0 < 0) throw new IllegalArgumentException("pos0 must be >= 0, got " + pos0);
    }

    /** Head counts and width for attention over a cache whose kernel keeps at most maxHeadDim values of a head. */
    public static void requireHeads(int nHeads, int nKvHeads, int headDim, int maxHeadDim) {
        requirePositive(nKvHeads, "nKvHeads");
        if (nHeads <= 0 || nHeads % nKvHeads != 0) {
            throw new IllegalArgumentException("nHeads (" + nHeads + ") must be a positive multiple of nKvHeads (" + nKvHeads + ")");
        }
        if (headDim <= 0 || headDim > maxHeadDim) {
            throw new IllegalArgumentException("headDim must be in [1, " + maxHeadDim + "], got " + headDim);
        }
    }

    /** The rows' block tables, flattened to (rows, stride) ints with stride the longest table. */
    public static int[] flatTables(BatchRows rows) {
        int stride = tableStride(rows);
        int[] tables = new int[rows.size() * stride];
        for (int i = 0; i < rows.size(); i++) {
            System.arraycopy(rows.blockTables()[i], 0, tables, i * stride, rows.blockTables()[i].length);
        }
        return tables;
    }

    public static int tableStride(BatchRows rows) {
        int stride = 1;
        for (int i = 0; i < rows.size(); i++) stride = Math.max(stride, rows.blockTables()[i].length);
        return stride;
    }

    /** Positions the longest row attends: its position plus one. */
    public static int maxLength(BatchRows rows) {
        int maxLen = 0;
        for (int i = 0; i < rows.size(); i++) maxLen = Math.max(maxLen, rows.positions()[i] + 1);
        return maxLen;
    }

    /** The pool's keys and values hold every pool position's kvDim floats. */
    public static void requirePool(long keyFloats, long valueFloats, KvPoolSpec pool, long kvDim) {
        requireLength(keyFloats, pool.positions() * kvDim, "paged attention keys");
        requireLength(valueFloats, pool.positions() * kvDim, "paged attention values");
    }
}
