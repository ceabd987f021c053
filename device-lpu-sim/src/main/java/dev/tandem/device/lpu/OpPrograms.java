package dev.tandem.device.lpu;

import dev.tandem.device.lpu.Instruction.Attention;
import dev.tandem.device.lpu.Instruction.BinaryOp;
import dev.tandem.device.lpu.Instruction.LoadWeights;
import dev.tandem.device.lpu.Instruction.Matvec;
import dev.tandem.device.lpu.Instruction.MemRead;
import dev.tandem.device.lpu.Instruction.MemReadRow;
import dev.tandem.device.lpu.Instruction.MemWrite;
import dev.tandem.device.lpu.Instruction.RmsNorm;
import dev.tandem.device.lpu.Instruction.Rope;
import dev.tandem.device.lpu.Instruction.VxmBinary;
import dev.tandem.device.lpu.Instruction.SxmPermute;
import dev.tandem.kernels.WeightFormat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The single-op programs (every SPI op but the fused blocks) and the table placement of {@link LpuDevice}, written against a description
 * of where things are (allocators, pieces, buffer allocations) rather than a device, so that
 * {@link LpuOpCostProvider} can build exactly the programs the device runs for the embedding and the
 * head on simulated chips. Any change to how the device places a table or lowers embed, copy,
 * rmsnorm or matmul belongs here, or the compiler's predictions stop being the device's cycles.
 */
final class OpPrograms {
    private OpPrograms() {}

    static final int S_A = 0, S_B = 1, S_C = 2, S_K = 3, S_V = 4, S_TMP = 5;

    /** One chip's rows [rowStart, +rows) of a weight matrix, at sram. */
    record Piece(int chip, int rowStart, int rows, long sram, long bytes) {
        Allocation allocation() { return new Allocation(chip, "weights@" + sram, sram, bytes, 0, Allocation.FOREVER); }
    }

    /** A weight matrix as placed: its pieces in row order. */
    record Table(WeightFormat format, int rows, int cols, List<Piece> pieces) {
        Piece pieceOf(int row) {
            for (Piece p : pieces) {
                if (row >= p.rowStart() && row < p.rowStart() + p.rows()) {
                    return p;
                }
            }
            throw new IllegalArgumentException("row " + row + " outside the table's " + rows + " rows");
        }
    }

    /** SRAM for the length of one op: the offset on chip; the caller frees it after the run. */
    @FunctionalInterface
    interface Scratch {
        long allocate(int chip, long bytes);
    }

    // ---------------------------------------------------------------- placement

    /** SramAllocator's alignment of every allocation. */
    private static final long SCRATCH_ALIGN = 64;

    /**
     * The pieces of a (rows × rowBytes) matrix, placed as {@link #place} says piece after piece, or
     * null (with nothing left allocated) when the chips cannot hold it. Growing adds chips to the
     * list, as many as {@code maxChips} allow. A piece off chip 0 leaves room beside it for the
     * scratch the table's programs take there ({@code cols} floats of a row sent or fed, and a float
     * per row of the logits slice), so that a table filling chips whole (a stage of its own) still runs.
     */
    static List<Piece> placeTable(ChipConfig config, List<SramAllocator> allocators, boolean fixed, int maxChips,
                                  int rows, long rowBytes, int cols) {
        List<Piece> pieces = new ArrayList<>();
        Map<Integer, Long> promised = new HashMap<>();
        int row = 0;
        while (row < rows) {
            Piece p = place(config, allocators, fixed, maxChips, rows - row, rowBytes, row, cols, promised);
            if (p == null) {
                for (Piece q : pieces) {
                    allocators.get(q.chip()).release(q.sram(), q.bytes());
                }
                return null;
            }
            pieces.add(p);
            if (p.chip() != 0) {
                promised.merge(p.chip(), scratchBeside(cols, p.rows()), Long::sum);
            }
            row += p.rows();
        }
        return List.copyOf(pieces);
    }

    /**
     * Room for rows of a matrix: the whole on the first chip with room, else (without a fixed chip
     * count) on a fresh chip, else as many rows as the largest free block of some chip takes. Chip 0
     * keeps a quarter of its SRAM for buffers when other chips can take weights.
     */
    static Piece place(ChipConfig config, List<SramAllocator> allocators, boolean fixed, int maxChips,
                       int rows, long rowBytes, int rowStart, int cols, Map<Integer, Long> promised) {
        while (true) {
            Piece p = tryPlace(config, allocators, fixed, rows, rowBytes, rowStart, cols, promised, true);
            boolean canGrow = !fixed && allocators.size() < maxChips;
            if (p == null && canGrow && rows * rowBytes <= config.sramBytes()) {
                allocators.add(new SramAllocator(config.sramBytes()));
                continue;
            }
            if (p == null) {
                p = tryPlace(config, allocators, fixed, rows, rowBytes, rowStart, cols, promised, false);
            }
            if (p == null && canGrow) {
                allocators.add(new SramAllocator(config.sramBytes()));
                continue;
            }
            return p;
        }
    }

    /** The scratch a piece of rows off chip 0 takes beside it: a row of cols floats, a float per row, two alignments. */
    private static long scratchBeside(int cols, int rows) {
        return 4L * cols + 4L * rows + 2 * SCRATCH_ALIGN;
    }

    private static Piece tryPlace(ChipConfig config, List<SramAllocator> allocators, boolean fixed,
                                  int rows, long rowBytes, int rowStart, int cols, Map<Integer, Long> promised, boolean whole) {
        for (int chip = 0; chip < allocators.size(); chip++) {
            SramAllocator a = allocators.get(chip);
            long limit = a.largestFree();
            long perRow = rowBytes;
            if (chip == 0 && (allocators.size() > 1 || !fixed)) {
                limit = Math.min(limit, a.freeBytes() - config.sramBytes() / 4);
            } else if (chip != 0) {
                // Room for the scratch beside this piece and beside the table's pieces already there.
                limit -= scratchBeside(cols, 0) + promised.getOrDefault(chip, 0L);
                perRow += Float.BYTES;
            }
            int fit = (int) Math.max(0, Math.min(rows, limit / perRow));
            if (fit == rows || (!whole && fit > 0)) {
                long off = a.allocate(fit * rowBytes);
                return new Piece(chip, rowStart, fit, off, fit * rowBytes);
            }
        }
        return null;
    }

    // ---------------------------------------------------------------- programs

    private static ListScheduler scheduler(ChipConfig config, int chips, Allocation... buffers) {
        ListScheduler s = new ListScheduler(config, chips);
        for (Allocation b : buffers) {
            s.addAllocation(b);
        }
        return s;
    }

    private static void declare(ListScheduler s, int chip, long offset, long bytes) {
        s.addAllocation(new Allocation(chip, "scratch@" + offset, offset, bytes, 0, Allocation.FOREVER));
    }

    /** The tokens' rows of the table into out on chip 0, rows held by other chips sent over C2C. */
    static StaticProgram embed(ChipConfig config, int chips, Table w, int[] tokens, Allocation out, Scratch scratch) {
        ListScheduler s = scheduler(config, chips, out);
        for (int b = 0; b < tokens.length; b++) {
            Piece p = w.pieceOf(tokens[b]);
            s.addAllocation(p.allocation());
            s.emit(p.chip(), new MemReadRow(p.sram(), w.format(), p.rows(), w.cols(), tokens[b] - p.rowStart(),
                    p.chip() == 0 ? S_C : S_A, p.chip() == 0 ? b * w.cols() : 0));
            if (p.chip() != 0) {
                long bytes = 4L * w.cols();
                long there = scratch.allocate(p.chip(), bytes), here = scratch.allocate(0, bytes);
                declare(s, p.chip(), there, bytes);
                declare(s, 0, here, bytes);
                s.emit(p.chip(), new MemWrite(S_A, 0, w.cols(), there));
                s.transfer(p.chip(), there, 0, here, bytes);
                s.emit(0, new MemRead(here, w.cols(), S_C, b * w.cols()));
            }
        }
        s.emit(0, new MemWrite(S_C, 0, tokens.length * w.cols(), out.offset()));
        return s.build();
    }

    /** (batch, rows) = x (batch, cols) times the table's rows, remote pieces fed and gathered over C2C. */
    static StaticProgram matmul(ChipConfig config, int chips, Table w, Allocation in, Allocation out, int batch, Scratch scratch) {
        ListScheduler s = scheduler(config, chips, in, out);
        int cols = w.cols(), rows = w.rows();
        int[] bufferOf = new int[chips];
        boolean localRead = false;
        Map<Integer, Long> remoteInput = new HashMap<>();
        for (Piece p : w.pieces()) {
            s.addAllocation(p.allocation());
            int chip = p.chip();
            if (chip == 0 && !localRead) {
                s.emit(0, new MemRead(in.offset(), batch * cols, S_A, 0));
                localRead = true;
            }
            if (chip != 0 && !remoteInput.containsKey(chip)) {
                long bytes = 4L * batch * cols;
                long xs = scratch.allocate(chip, bytes);
                declare(s, chip, xs, bytes);
                s.transfer(0, in.offset(), chip, xs, bytes);
                s.emit(chip, new MemRead(xs, batch * cols, S_A, 0));
                remoteInput.put(chip, xs);
            }
            // Local pieces write straight into the (batch, rows) result; remote ones into (batch, piece rows).
            int outStream = chip == 0 ? S_C : S_B;
            int outBase = chip == 0 ? p.rowStart() : 0;
            int stride = chip == 0 ? rows : p.rows();
            long rowBytes = w.format().bytesFor(cols);
            int tileRows = (int) Math.max(1, Math.min(p.rows(), config.mxmWeightBufferBytes() / rowBytes));
            for (int r = 0; r < p.rows(); r += tileRows) {
                int tr = Math.min(tileRows, p.rows() - r);
                int buffer = bufferOf[chip];
                bufferOf[chip] = (buffer + 1) % config.mxmWeightBuffers();
                s.emit(chip, new LoadWeights(p.sram() + r * rowBytes, w.format(), tr, cols, buffer));
                s.emit(chip, new Matvec(w.format(), tr, cols, buffer, batch, S_A, 0, outStream, outBase + r, stride));
            }
            if (chip != 0) {
                long bytes = 4L * batch * p.rows();
                long ys = scratch.allocate(chip, bytes), zs = scratch.allocate(0, bytes);
                declare(s, chip, ys, bytes);
                declare(s, 0, zs, bytes);
                s.emit(chip, new MemWrite(S_B, 0, batch * p.rows(), ys));
                s.transfer(chip, ys, 0, zs, bytes);
                s.emit(0, new MemRead(zs, batch * p.rows(), S_TMP, 0));
                s.emit(0, new SxmPermute(S_TMP, 0, p.rows(), S_C, p.rowStart(), rows, batch, p.rows()));
            }
        }
        s.emit(0, new MemWrite(S_C, 0, batch * rows, out.offset()));
        return s.build();
    }

    static StaticProgram rmsnorm(ChipConfig config, int chips, Allocation out, Allocation x, Allocation weight, int n, int batch, float eps) {
        ListScheduler s = scheduler(config, chips, out, x, weight);
        s.emit(0, new MemRead(x.offset(), n * batch, S_A, 0));
        s.emit(0, new MemRead(weight.offset(), n, S_B, 0));
        s.emit(0, new RmsNorm(S_A, 0, S_B, S_C, 0, n, batch, eps));
        s.emit(0, new MemWrite(S_C, 0, n * batch, out.offset()));
        return s.build();
    }

    /** length floats from src (at srcOffset floats) to dst (at dstOffset floats), both on chip 0. */
    static StaticProgram copy(ChipConfig config, int chips, Allocation src, long srcOffset, Allocation dst, long dstOffset, int length) {
        ListScheduler s = scheduler(config, chips, src, dst);
        s.emit(0, new MemRead(src.offset() + 4 * srcOffset, length, S_A, 0));
        s.emit(0, new MemWrite(S_A, 0, length, dst.offset() + 4 * dstOffset));
        return s.build();
    }

    /** Rotates the (batch, nHeads * headDim) rows of vec, row b at position pos0 + b. */
    static StaticProgram rope(ChipConfig config, int chips, Allocation vec, int nHeads, int headDim, int pos0, int batch, Allocation invFreq) {
        int width = nHeads * headDim;
        ListScheduler s = scheduler(config, chips, vec, invFreq);
        s.emit(0, new MemRead(vec.offset(), batch * width, S_A, 0));
        s.emit(0, new MemRead(invFreq.offset(), headDim / 2, S_B, 0));
        s.emit(0, new Rope(S_A, 0, width, nHeads, headDim, pos0, batch, S_B));
        s.emit(0, new MemWrite(S_A, 0, batch * width, vec.offset()));
        return s.build();
    }

    /** Causal attention of batch query rows at positions startPos.. over the cached keys and values. */
    static StaticProgram attention(ChipConfig config, int chips, Allocation out, Allocation q, Allocation keys, Allocation values,
                                   int startPos, int batch, int nHeads, int nKvHeads, int headDim) {
        int qDim = nHeads * headDim, kv = (startPos + batch) * nKvHeads * headDim;
        ListScheduler s = scheduler(config, chips, out, q, keys, values);
        s.emit(0, new MemRead(q.offset(), batch * qDim, S_A, 0));
        s.emit(0, new MemRead(keys.offset(), kv, S_K, 0));
        s.emit(0, new MemRead(values.offset(), kv, S_V, 0));
        s.emit(0, new Attention(S_A, S_K, S_V, S_C, startPos, batch, nHeads, nKvHeads, headDim));
        s.emit(0, new MemWrite(S_C, 0, batch * qDim, out.offset()));
        return s.build();
    }

    /** a[i] = op(a[i], b[i]) for n elements. */
    static StaticProgram binary(ChipConfig config, int chips, BinaryOp op, Allocation a, Allocation b, int n) {
        ListScheduler s = scheduler(config, chips, a, b);
        s.emit(0, new MemRead(a.offset(), n, S_A, 0));
        s.emit(0, new MemRead(b.offset(), n, S_B, 0));
        s.emit(0, new VxmBinary(op, S_A, 0, S_B, 0, n));
        s.emit(0, new MemWrite(S_A, 0, n, a.offset()));
        return s.build();
    }
}
