package dev.tandem.device.lpu;

import dev.tandem.device.lpu.AttentionBlockLowering.Run;
import dev.tandem.runtime.device.AttentionWeights;
import dev.tandem.runtime.device.BatchRows;
import dev.tandem.runtime.device.DeviceBuffer;
import dev.tandem.runtime.device.DevicePagedAttention;
import dev.tandem.runtime.device.KvPoolSpec;
import dev.tandem.runtime.model.LlamaConfig;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * A placed attention block over a paged KV pool: one static program per step, whatever mix of
 * prefill chunks and decode rows it holds ({@link AttentionBlockLowering#lower(ChipConfig, LlamaConfig,
 * BlockPlacement, Allocation, List, int)}). It is the contiguous block's placement with a cache of the
 * pool's positions, replicated on every chip of the block; each run of a step gathers its sequence's
 * blocks from where they lie. The program's cycles depend on the runs' positions and lengths and the
 * block size, never on which blocks a table names, so the compiler's cost provider predicts them.
 */
final class LpuPagedAttentionBlock implements DevicePagedAttention {
    private final ChipMemory memory;
    private final ChipArray array;
    private final Consumer<StaticProgram> runner;
    private final BlockPlacement placement;
    private final LlamaConfig c;
    private final KvPoolSpec pool;
    private final int maxRows;
    private boolean freed;

    private LpuPagedAttentionBlock(ChipMemory memory, ChipArray array, Consumer<StaticProgram> runner, BlockPlacement placement,
                                   LlamaConfig c, KvPoolSpec pool, int maxRows) {
        this.memory = memory;
        this.array = array;
        this.runner = runner;
        this.placement = placement;
        this.c = c;
        this.pool = pool;
        this.maxRows = maxRows;
    }

    /** SRAM the block would take on memory's chips. */
    static long bytes(ChipMemory memory, AttentionWeights w, KvPoolSpec pool, int maxRows) {
        return LpuAttentionBlock.bytes(memory, w, pool.positions(), maxRows);
    }

    /** Places the block by memory's scheme (the contiguous block's, with a cache of the pool's positions) and writes its weights. */
    static LpuPagedAttentionBlock upload(ChipMemory memory, ChipArray array, Consumer<StaticProgram> runner, AttentionWeights w,
                                         KvPoolSpec pool, int maxRows) {
        if (maxRows < 1) {
            throw new IllegalArgumentException("maxRows must be >= 1, got " + maxRows);
        }
        return new LpuPagedAttentionBlock(memory, array, runner, LpuAttentionBlock.placeAndWrite(memory, array, w, pool.positions(), maxRows),
                w.config(), pool, maxRows);
    }

    @Override
    public KvPoolSpec pool() { return pool; }

    @Override
    public int maxRows() { return maxRows; }

    @Override
    public void run(DeviceBuffer x, BatchRows rows) {
        rows.validate(pool, maxRows);
        runner.accept(AttentionBlockLowering.lower(memory.config(), c, placement, LpuBuffer.of(x).allocation, runs(rows),
                pool.blockSize()));
    }

    /**
     * The step's runs: consecutive rows of one table at consecutive positions. A table in two runs
     * of one step is refused: the program orders the runs' cache reads only after their own writes.
     */
    static List<Run> runs(BatchRows rows) {
        List<Run> runs = new ArrayList<>();
        int[] pos = rows.positions();
        int[][] tables = rows.blockTables();
        for (int start = 0, end; start < pos.length; start = end) {
            end = rows.runEnd(start);
            for (Run earlier : runs) {
                if (earlier.table() == tables[start]) {
                    throw new IllegalArgumentException("row " + start + ": its sequence already has a run of rows in this step;"
                            + " a step holds one run of consecutive positions per sequence");
                }
            }
            runs.add(new Run(tables[start], pos[start], end - start));
        }
        return runs;
    }

    @Override
    public void readKv(int[] table, int from, int count, float[] k, float[] v) {
        check(table, from, count);
        int chip = placement.chips()[0], kvDim = c.kvDim();
        for (int i = 0; i < count; i++) {
            long slot = 4L * pool.slot(table, from + i) * kvDim;
            array.readFloats(chip, placement.at(chip, "kv.k") + slot, k, i * kvDim, kvDim);
            array.readFloats(chip, placement.at(chip, "kv.v") + slot, v, i * kvDim, kvDim);
        }
    }

    @Override
    public void writeKv(int[] table, int from, int count, float[] k, float[] v) {
        check(table, from, count);
        int kvDim = c.kvDim();
        for (int chip : placement.chips()) {
            for (int i = 0; i < count; i++) {
                long slot = 4L * pool.slot(table, from + i) * kvDim;
                array.writeFloats(chip, placement.at(chip, "kv.k") + slot, k, i * kvDim, kvDim);
                array.writeFloats(chip, placement.at(chip, "kv.v") + slot, v, i * kvDim, kvDim);
            }
        }
    }

    private void check(int[] table, int from, int count) {
        if (from < 0 || count < 0) {
            throw new IllegalArgumentException("positions [" + from + ", " + (from + count) + ") are not a range of positions");
        }
        if (count > 0) {
            new BatchRows(new int[] {from + count - 1}, new int[][] {table}).validate(pool, 1);
        }
    }

    @Override
    public void close() {
        if (!freed) {
            freed = true;
            memory.free(placement);
        }
    }
}
