package dev.tandem.device.lpu;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.device.DeviceMemoryException;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * The SRAM of an array of chips and the one placement scheme every LPU path uses: buffers on chip
 * 0, weight tables by {@link OpPrograms#placeTable}, fused blocks by {@link BlockPlacement}. With a
 * fixed chip count the array has exactly those chips and a block splits over all of them; growing,
 * it adds chips as placements need them, up to {@link LpuDevice#MAX_CHIPS}:
 * <ul>
 *   <li>a block goes whole on chip 0 while that leaves a quarter of chip 0 free for buffers, else on
 *       the first chip with room, else on a fresh chip; a block bigger than one chip goes over the
 *       fewest fresh chips that hold it;</li>
 *   <li>a failed placement frees what it placed, so the chips are as they were.</li>
 * </ul>
 * Only offsets live here; the bytes are in a {@link ChipArray} (or nowhere, for timing-only runs).
 */
final class ChipMemory {
    private final ChipConfig config;
    private final boolean fixed;
    private final int maxChips;
    private final List<SramAllocator> allocators = new ArrayList<>();
    private boolean closed;

    /** @param chips a fixed number of chips, or 0 for as many as placements need */
    ChipMemory(ChipConfig config, int chips) {
        if (chips < 0 || chips > LpuDevice.MAX_CHIPS) {
            throw new IllegalArgumentException("chips must be in [0, " + LpuDevice.MAX_CHIPS + "], got " + chips);
        }
        this.config = config;
        this.fixed = chips > 0;
        this.maxChips = fixed ? chips : LpuDevice.MAX_CHIPS;
        do {
            addChip();
        } while (allocators.size() < chips);
    }

    private void addChip() { allocators.add(new SramAllocator(config.sramBytes())); }

    ChipConfig config() { return config; }

    boolean fixed() { return fixed; }

    int maxChips() { return maxChips; }

    /** Chips in use (fixed, or so far). */
    int chips() { return allocators.size(); }

    long capacity() { return (long) maxChips * config.sramBytes(); }

    /** Refuses what more than every chip's SRAM would not hold, saying how many chips would. */
    void requireCapacity(String what, long bytes) {
        if (bytes > capacity()) {
            int needed = (int) Math.min(Integer.MAX_VALUE, (bytes + config.sramBytes() - 1) / config.sramBytes());
            throw new LpuCapacityException(what, config, maxChips, needed, bytes, capacity());
        }
    }

    long freeBytes() {
        long f = 0;
        for (SramAllocator a : allocators) {
            f += a.freeBytes();
        }
        return f;
    }

    private long usedBytes() {
        long used = 0;
        for (SramAllocator a : allocators) {
            used += a.capacity() - a.freeBytes();
        }
        return used;
    }

    /** After close, handles freed late touch nothing. */
    void close() { closed = true; }

    // ---------------------------------------------------------------- buffers and scratch

    /** A (floats) buffer on chip 0, where activations and KV caches live. */
    Allocation buffer(String what, long floats) {
        SramAllocator home = allocators.get(0);
        long off = floats < 0 || floats > Integer.MAX_VALUE ? -1 : home.allocate(floats * 4);
        if (off < 0) {
            throw new DeviceMemoryException(what + " on chip 0 (activations and KV caches live there)", floats * 4, home.largestFree());
        }
        return new Allocation(0, what + "@" + off, off, floats * 4, 0, Allocation.FOREVER);
    }

    void release(Allocation a) {
        if (!closed) {
            allocators.get(a.chip()).release(a.offset(), a.bytes());
        }
    }

    /** Scratch on a chip for the length of one program, collected in held and freed by {@link #release(List)}. */
    OpPrograms.Scratch scratch(List<Allocation> held) {
        return (chip, bytes) -> {
            long off = allocators.get(chip).allocate(bytes);
            if (off < 0) {
                throw new DeviceMemoryException("chip " + chip + " (op scratch)", bytes, allocators.get(chip).largestFree());
            }
            held.add(new Allocation(chip, "scratch@" + off, off, bytes, 0, Allocation.FOREVER));
            return off;
        };
    }

    void release(List<Allocation> held) {
        held.forEach(this::release);
    }

    // ---------------------------------------------------------------- weight tables

    /** A (rows, cols) matrix of a format placed by rows. */
    OpPrograms.Table placeTable(WeightFormat format, int rows, int cols) {
        long rowBytes = format.bytesFor(cols);
        List<OpPrograms.Piece> pieces = OpPrograms.placeTable(config, allocators, fixed, maxChips, rows, rowBytes, cols);
        if (pieces == null) {
            long requested = format.bytesFor((long) rows * cols);
            int needed = (int) Math.min(Integer.MAX_VALUE, (usedBytes() + requested + config.sramBytes() - 1) / config.sramBytes());
            throw new LpuCapacityException("a " + rows + "x" + cols + " " + format + " weight matrix",
                    config, chips(), Math.max(needed, chips() + 1), requested, freeBytes());
        }
        return new OpPrograms.Table(format, rows, cols, pieces);
    }

    void free(OpPrograms.Table t) {
        if (!closed) {
            for (OpPrograms.Piece p : t.pieces()) {
                allocators.get(p.chip()).release(p.sram(), p.bytes());
            }
        }
    }

    // ---------------------------------------------------------------- blocks

    /** A block's placement function: given the chips to split over, the placement on these allocators. */
    @FunctionalInterface
    interface BlockPlacer {
        BlockPlacement place(List<SramAllocator> allocators, int[] chips);
    }

    static int[] range(int from, int to) {
        int[] r = new int[to - from];
        for (int i = 0; i < r.length; i++) {
            r[i] = from + i;
        }
        return r;
    }

    /** Places a block on chips chosen as the class comment says; nothing stays placed when it fails. */
    BlockPlacement placeBlock(BlockPlacer placer) {
        Function<int[], BlockPlacement> place = ids -> placer.place(allocators, ids);
        if (fixed) {
            return place.apply(range(0, chips()));
        }
        for (int chip = 0; chip < chips(); chip++) {
            try {
                BlockPlacement p = place.apply(new int[] {chip});
                if (chip == 0 && allocators.get(0).freeBytes() < config.sramBytes() / 4 && chips() < maxChips) {
                    free(p);
                    continue;
                }
                return p;
            } catch (LpuCapacityException e) {
                // Try the next chip.
            }
        }
        LpuCapacityException last = null;
        for (int tp = 1; tp <= maxChips - chips(); tp++) {
            int first = chips();
            while (chips() < first + tp) {
                addChip();
            }
            try {
                return place.apply(range(first, first + tp));
            } catch (LpuCapacityException e) {
                last = e;
                // Fresh chips that were not enough: give them back and try one more.
                while (allocators.size() > first) {
                    allocators.removeLast();
                }
            }
        }
        throw last != null ? last : new LpuCapacityException("a block", config, chips(), chips() + 1, 0, freeBytes());
    }

    /** Bytes a block placement takes, from a dry run on unbounded chips laid out as {@link #placeBlock} would. */
    long dryRunBytes(BlockPlacer placer) {
        List<SramAllocator> unbounded = new ArrayList<>();
        for (int i = 0; i < (fixed ? maxChips : 1); i++) {
            unbounded.add(new SramAllocator(Long.MAX_VALUE / 4));
        }
        return placer.place(unbounded, range(0, unbounded.size())).bytes();
    }

    void free(BlockPlacement p) {
        if (!closed) {
            for (Allocation a : p.allocations()) {
                allocators.get(a.chip()).release(a.offset(), a.bytes());
            }
        }
    }
}
