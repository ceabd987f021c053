package dev.tandem.device.lpu;

import dev.tandem.device.lpu.BlockPlacement.Slice;
import dev.tandem.device.lpu.Instruction.LoadWeights;
import dev.tandem.device.lpu.Instruction.Matvec;
import dev.tandem.device.lpu.Instruction.MemRead;
import dev.tandem.device.lpu.Instruction.MemWrite;
import dev.tandem.device.lpu.Instruction.SxmPermute;

import java.util.List;

/**
 * What the attention and FFN block lowerings share: x moving from the home chip (0) to the block's
 * chips, weight slices streamed through the MXM in tiles, and row-sliced results of a (batch, width)
 * activation moving between chips. A slice of columns [start, end) of every row is packed into
 * (batch, end-start) before it crosses C2C, so one contiguous transfer carries it, and unpacked
 * on arrival; for one row the packed and strided layouts coincide and the permutes are skipped.
 */
abstract class BlockLowering {
    static final int HOME = 0;
    static final int S_X = 0, S_NORM = 1, S_XB = 2, S_QKV = 3, S_FREQ = 4, S_K = 5, S_V = 6, S_ATT = 7, S_O = 8,
            S_Q = 9, S_T = 10, S_G = 11, S_U = 12, S_H = 13, S_RUN = 14;

    final ChipConfig config;
    final BlockPlacement p;
    final ListScheduler s;
    final int batch;
    private final int[] nextBuffer;

    BlockLowering(ChipConfig config, BlockPlacement p, Allocation x, int batch) {
        this.config = config;
        this.p = p;
        this.batch = batch;
        int chips = HOME + 1;
        for (int c : p.chips()) {
            chips = Math.max(chips, c + 1);
        }
        this.s = new ListScheduler(config, chips);
        this.nextBuffer = new int[chips];
        p.allocations().forEach(s::addAllocation);
        s.addAllocation(x);
    }

    /** Boundaries splitting [0, total) into parts near-equal ranges whose inner boundaries are multiples of align. */
    static int[] split(int total, int parts, int align) {
        int[] b = new int[parts + 1];
        for (int i = 1; i < parts; i++) {
            long ideal = (long) total * i / parts;
            b[i] = (int) Math.min(total, Math.round(ideal / (double) align) * align);
            b[i] = Math.max(b[i], b[i - 1]);
        }
        b[parts] = total;
        return b;
    }

    /** SRAM a block chip other than home needs to receive x and send its slice of the result back. */
    static void exchangeRegions(BlockPlacement.Builder b, int chip, int maxBatch, int dim) {
        if (chip != HOME) {
            b.region(chip, "x", 4L * maxBatch * dim);
            b.region(chip, "o", 4L * maxBatch * dim);
        }
    }

    /** Where the home chip assembles the result when any of it is computed elsewhere. */
    static void homeResultRegion(BlockPlacement.Builder b, int[] chips, int maxBatch, int dim) {
        if (chips.length > 1 || chips[0] != HOME) {
            b.region(HOME, "o", 4L * maxBatch * dim);
        }
    }

    /** The block's output (batch, dim), assembled at home in S_O, added to the residual and written back to x. */
    void addResidualAtHome(long x, int dim) {
        s.emit(HOME, new Instruction.VxmBinary(Instruction.BinaryOp.ADD, S_X, 0, S_O, 0, batch * dim));
        s.emit(HOME, new MemWrite(S_X, 0, batch * dim, x));
    }

    /** The home chip reads x (it adds the residual); every other block chip gets a copy over C2C. */
    void distributeX(long x, int dim) {
        s.emit(HOME, new MemRead(x, batch * dim, S_X, 0));
        for (int c : p.chips()) {
            if (c != HOME) {
                s.transfer(HOME, x, c, p.at(c, "x"), 4L * batch * dim);
                s.emit(c, new MemRead(p.at(c, "x"), batch * dim, S_X, 0));
            }
        }
    }

    /** The chip's next MXM weight buffer, round robin, so a load overlaps the matvec on the other. */
    int nextBuffer(int chip) {
        int buffer = nextBuffer[chip];
        nextBuffer[chip] = (buffer + 1) % config.mxmWeightBuffers();
        return buffer;
    }

    /** out[b*stride + outOffset + row - rowBase] = W[row]·in[b] for every row of the slices, in tiles. */
    void matvec(int chip, List<Slice> slices, int in, int out, int outOffset, int rowBase, int stride) {
        for (Slice sl : slices) {
            long rowBytes = sl.format().bytesFor(sl.cols());
            int tileRows = (int) Math.max(1, Math.min(sl.rows(), config.mxmWeightBufferBytes() / rowBytes));
            for (int r = 0; r < sl.rows(); r += tileRows) {
                int rows = Math.min(tileRows, sl.rows() - r);
                int buffer = nextBuffer(chip);
                s.emit(chip, new LoadWeights(sl.sram() + r * rowBytes, sl.format(), rows, sl.cols(), buffer));
                s.emit(chip, new Matvec(sl.format(), rows, sl.cols(), buffer, batch, in, 0, out,
                        outOffset + sl.rowStart() - rowBase + r, stride));
            }
        }
    }

    /** Writes columns [start, end) of every row of a (batch, width) stream to region + 4*batch*start, packed
     * (a chip's slice lands where it would in the packed concatenation of all slices). */
    void writeSlice(int chip, int stream, int width, int start, int end, long region) {
        int n = end - start;
        if (batch == 1) {
            s.emit(chip, new MemWrite(stream, start, n, region + 4L * batch * start));
        } else {
            s.emit(chip, new SxmPermute(stream, start, width, S_T, 0, n, batch, n));
            s.emit(chip, new MemWrite(S_T, 0, batch * n, region + 4L * batch * start));
        }
    }

    /** Reads a packed slice written by {@link #writeSlice} back into columns [start, end) of a (batch, width) stream. */
    void readSlice(int chip, long region, int start, int end, int stream, int width) {
        int n = end - start;
        if (batch == 1) {
            s.emit(chip, new MemRead(region + 4L * batch * start, n, stream, start));
        } else {
            s.emit(chip, new MemRead(region + 4L * batch * start, batch * n, S_T, 0));
            s.emit(chip, new SxmPermute(S_T, 0, n, stream, start, width, batch, n));
        }
    }

    /**
     * Every block chip but the home chip sends its columns bounds[i]..bounds[i+1] of a (batch, width)
     * stream to the home chip, which unpacks them into the same stream; region names scratch of
     * batch*width floats on each chip.
     */
    void gatherHome(int stream, int width, int[] bounds, String region) {
        int[] chips = p.chips();
        for (int i = 0; i < chips.length; i++) {
            int c = chips[i];
            if (c != HOME && bounds[i + 1] > bounds[i]) {
                writeSlice(c, stream, width, bounds[i], bounds[i + 1], p.at(c, region));
                long at = 4L * batch * bounds[i];
                s.transfer(c, p.at(c, region) + at, HOME, p.at(HOME, region) + at, 4L * batch * (bounds[i + 1] - bounds[i]));
            }
        }
        for (int i = 0; i < chips.length; i++) {
            if (chips[i] != HOME && bounds[i + 1] > bounds[i]) {
                readSlice(HOME, p.at(HOME, region), bounds[i], bounds[i + 1], stream, width);
            }
        }
    }

    /** Every block chip sends its packed columns of a stream to every other block chip, which unpacks them. */
    void allGather(int stream, int width, int[] bounds, String region) {
        int[] chips = p.chips();
        for (int i = 0; i < chips.length; i++) {
            if (bounds[i + 1] > bounds[i]) {
                writeSlice(chips[i], stream, width, bounds[i], bounds[i + 1], p.at(chips[i], region));
            }
        }
        for (int i = 0; i < chips.length; i++) {
            long at = 4L * batch * bounds[i];
            for (int j = 0; j < chips.length; j++) {
                if (j != i && bounds[i + 1] > bounds[i]) {
                    s.transfer(chips[i], p.at(chips[i], region) + at, chips[j], p.at(chips[j], region) + at,
                            4L * batch * (bounds[i + 1] - bounds[i]));
                }
            }
        }
        for (int j = 0; j < chips.length; j++) {
            for (int i = 0; i < chips.length; i++) {
                if (i != j && bounds[i + 1] > bounds[i]) {
                    readSlice(chips[j], p.at(chips[j], region), bounds[i], bounds[i + 1], stream, width);
                }
            }
        }
    }
}
