package dev.tandem.runtime.device;

import java.util.Arrays;

/**
 * The rows of one step of a {@link DevicePagedAttention}: row i is the token at position positions[i]
 * of the sequence whose block table is blockTables[i]. Rows of one sequence share its table (the same
 * array) and may be several consecutive positions (a prefill chunk) beside other sequences' rows (a
 * decode token each). A row attends its sequence's positions [0, its position], which are the cached
 * ones plus the rows of this step up to its own.
 *
 * <p>Immutable in use: the engine builds one per step and does not touch the arrays afterwards.
 *
 * @param positions   (rows) the position of each row in its sequence
 * @param blockTables (rows) each row's sequence's block table: block ids of the pool, in order
 */
public record BatchRows(int[] positions, int[][] blockTables) {
    public BatchRows {
        if (positions.length != blockTables.length) {
            throw new IllegalArgumentException(positions.length + " positions but " + blockTables.length + " block tables");
        }
    }

    /** One sequence's rows at positions pos0 .. pos0 + count - 1. */
    public static BatchRows sequence(int[] blockTable, int pos0, int count) {
        int[] positions = new int[count];
        int[][] tables = new int[count][];
        for (int i = 0; i < count; i++) {
            positions[i] = pos0 + i;
            tables[i] = blockTable;
        }
        return new BatchRows(positions, tables);
    }

    public int size() { return positions.length; }

    /**
     * One past the last row of the run that starts at row start: a run is consecutive rows of one
     * sequence (the same table array) at consecutive positions, a prefill chunk or a decode row.
     */
    public int runEnd(int start) {
        int end = start + 1;
        while (end < size() && blockTables[end] == blockTables[start] && positions[end] == positions[end - 1] + 1) {
            end++;
        }
        return end;
    }

    /**
     * Checks every row against a pool before anything runs, so a bad table is an
     * IllegalArgumentException naming the row, not a wrong answer or an index error deep in a kernel.
     */
    public void validate(KvPoolSpec pool, int maxRows) {
        if (size() < 1 || size() > maxRows) {
            throw new IllegalArgumentException("a step has 1 to " + maxRows + " rows, got " + size());
        }
        for (int i = 0; i < size(); i++) {
            int[] table = blockTables[i];
            int pos = positions[i];
            if (pos < 0 || pos / pool.blockSize() >= table.length) {
                throw new IllegalArgumentException("row " + i + " at position " + pos + " lies outside its block table of "
                        + table.length + " blocks of " + pool.blockSize());
            }
            for (int b = 0; b <= pos / pool.blockSize(); b++) {
                if (table[b] < 0 || table[b] >= pool.blocks()) {
                    throw new IllegalArgumentException("row " + i + ": block table entry " + b + " is " + table[b]
                            + ", outside the pool's blocks [0, " + pool.blocks() + ")");
                }
            }
        }
    }

    @Override
    public String toString() {
        return "BatchRows" + Arrays.toString(positions);
    }
}
