package dev.tandem.device.lpu;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.kernels.WeightMatrix;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Where one fused block lives: the chips it splits its weights over, and every SRAM region its
 * program touches (weight slices, norms, KV caches, scratch). Chip 0 is always the home chip: the
 * caller's activations live there, so it also holds the gather scratch even when the block's
 * weights are elsewhere. Regions live for as long as the block does; a program allocates nothing.
 *
 * @param chips       the chips the block's weights are split over, in slice order
 * @param allocations every region, for the program's declarations and for freeing
 * @param weights     the weight slices, each a row range of one matrix on one chip
 */
record BlockPlacement(int[] chips, List<Allocation> allocations, Map<String, Long> offsets, List<Slice> weights) {
    /** Rows [rowStart, +rows) of a (?, cols) matrix on chip, stored row-major at sram. */
    record Slice(String tensor, int chip, int rowStart, int rows, int cols, WeightFormat format, long sram) {
        long bytes() { return format.bytesFor((long) rows * cols); }
    }

    /** The slice name of one expert's rows of a mixture's tensor. */
    static String expertTensor(String tensor, int expert) { return tensor + "#" + expert; }

    /** Offset of a named region on a chip. */
    long at(int chip, String name) {
        Long o = offsets.get(chip + ":" + name);
        if (o == null) {
            throw new IllegalArgumentException("no region " + name + " on chip " + chip);
        }
        return o;
    }

    /** The slices of one tensor on one chip, in row order. */
    List<Slice> slices(String tensor, int chip) {
        List<Slice> out = new ArrayList<>();
        for (Slice s : weights) {
            if (s.chip() == chip && s.tensor().equals(tensor)) {
                out.add(s);
            }
        }
        return out;
    }

    int tp() { return chips.length; }

    /** Copies each weight slice's rows of its matrix (by tensor name) into the chips' SRAM. */
    void writeWeights(ChipArray array, Map<String, WeightMatrix> matrices) {
        for (Slice sl : weights) {
            WeightMatrix m = matrices.get(sl.tensor());
            array.writeBytes(sl.chip(), sl.sram(), m.data().asSlice(sl.rowStart() * m.format().bytesFor(m.cols()), sl.bytes()));
        }
    }

    /** Writes values into a region every chip of the block holds (norms, rope frequencies). */
    void writeEverywhere(ChipArray array, String region, float[] values) {
        for (int chip : chips) {
            array.writeFloats(chip, at(chip, region), values, 0, values.length);
        }
    }

    /** SRAM bytes placed on every chip together. */
    long bytes() {
        long b = 0;
        for (Allocation a : allocations) {
            b += a.bytes();
        }
        return b;
    }

    /**
     * Collects regions from an SRAM allocator; the first region that does not fit frees what was
     * placed and raises {@link LpuCapacityException}, so a failed upload leaves the chips as they were.
     */
    static final class Builder {
        private final ChipConfig config;
        private final List<SramAllocator> allocators;
        private final int[] chips;
        private final List<Allocation> allocations = new ArrayList<>();
        private final Map<String, Long> offsets = new HashMap<>();
        private final List<Slice> weights = new ArrayList<>();
        private final String what;

        Builder(ChipConfig config, List<SramAllocator> allocators, int[] chips, String what) {
            this.config = config;
            this.allocators = allocators;
            this.chips = chips.clone();
            this.what = what;
        }

        long region(int chip, String name, long bytes) {
            String key = chip + ":" + name;
            Long existing = offsets.get(key);
            if (existing != null) {
                return existing;
            }
            SramAllocator a = allocators.get(chip);
            long off = a.allocate(bytes);
            if (off < 0) {
                long requested = bytes;
                for (Allocation done : allocations) {
                    requested += done.bytes();
                }
                free();
                long free = 0;
                for (SramAllocator s : allocators) {
                    free += s.freeBytes();
                }
                long used = 0;
                for (SramAllocator s : allocators) {
                    used += s.capacity() - s.freeBytes();
                }
                // At least one more chip; more when the block alone outgrows what all of them hold.
                int needed = (int) Math.min(Integer.MAX_VALUE,
                        Math.max(allocators.size() + 1L, (used + requested + config.sramBytes() - 1) / config.sramBytes()));
                throw new LpuCapacityException(what + " (" + name + ", " + bytes + " bytes on chip " + chip + ")",
                        config, allocators.size(), needed, requested, free);
            }
            allocations.add(new Allocation(chip, what + "." + name, off, bytes, 0, Allocation.FOREVER));
            offsets.put(key, off);
            return off;
        }

        void slice(String tensor, int chip, int rowStart, int rows, int cols, WeightFormat format) {
            if (rows <= 0) {
                return;
            }
            long bytes = format.bytesFor((long) rows * cols);
            long off = region(chip, tensor + "." + rowStart, bytes);
            weights.add(new Slice(tensor, chip, rowStart, rows, cols, format, off));
        }

        /**
         * Rows [rowStart, +rows) of every expert's (?, cols) matrix on chip in one region, expert e
         * at e × the slice's bytes (so an expert load indexes it), as slices named tensor#e.
         */
        void expertSlices(String tensor, int chip, int rowStart, int rows, int cols, WeightFormat format, int experts) {
            if (rows <= 0) {
                return;
            }
            long bytes = format.bytesFor((long) rows * cols);
            long off = region(chip, tensor + ".experts." + rowStart, bytes * experts);
            for (int e = 0; e < experts; e++) {
                weights.add(new Slice(expertTensor(tensor, e), chip, rowStart, rows, cols, format, off + e * bytes));
            }
        }

        void free() {
            for (Allocation a : allocations) {
                allocators.get(a.chip()).release(a.offset(), a.bytes());
            }
            allocations.clear();
            offsets.clear();
            weights.clear();
        }

        BlockPlacement build() {
            return new BlockPlacement(chips, List.copyOf(allocations), Map.copyOf(offsets), List.copyOf(weights));
        }
    }
}
