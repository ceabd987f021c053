package dev.tandem.device.lpu;

import dev.tandem.device.lpu.Location.Sram;
import dev.tandem.device.lpu.Location.Stream;
import dev.tandem.device.lpu.Location.WeightBuffer;
import dev.tandem.kernels.WeightFormat;

import java.util.List;

/**
 * The LPU's instruction set. An instruction works on a whole tile (a vector, a weight tile, a
 * KV cache) and declares, from its operands alone, the unit it runs on, what it reads and writes,
 * and its occupancy and latency in cycles. Nothing here depends on data, so a timing-only run and
 * a full run of one program take the same cycles.
 *
 * <p>Streams hold fp32 elements. SRAM holds anything; activations there are little-endian fp32.
 * Occupancy is the cycles the unit is busy; latency is the cycles from issue until the results
 * can be read (occupancy plus the unit's pipeline latency).
 */
public sealed interface Instruction {
    Unit unit();

    /** Cycles the unit is busy from issue. */
    long occupancy(ChipConfig c);

    /** Cycles from issue until every written location holds the result. */
    long latency(ChipConfig c, int chip);

    List<Location> reads();

    List<Location> writes();

    /** Short mnemonic for traces. */
    default String mnemonic() { return getClass().getSimpleName(); }

    private static long ceilDiv(long a, long b) { return Math.max(1, (a + b - 1) / b); }

    private static long memCycles(ChipConfig c, long bytes) { return ceilDiv(bytes, c.memBytesPerCycle()); }

    private static long vxmCycles(ChipConfig c, long ops) { return ceilDiv(ops, c.vxmOpsPerCycle()); }

    private static long sxmCycles(ChipConfig c, long elements) { return ceilDiv(elements, c.sxmElementsPerCycle()); }

    // ---------------------------------------------------------------- MEM

    /** stream[streamOffset, +floats) = fp32 SRAM at sram. */
    record MemRead(long sram, int floats, int stream, int streamOffset) implements Instruction {
        public Unit unit() { return Unit.MEM; }
        public long occupancy(ChipConfig c) { return memCycles(c, 4L * floats); }
        public long latency(ChipConfig c, int chip) { return occupancy(c) + c.memLatency(); }
        public List<Location> reads() { return List.of(new Sram(sram, 4L * floats)); }
        public List<Location> writes() { return List.of(new Stream(stream, streamOffset, floats)); }
    }

    /** fp32 SRAM at sram = stream[streamOffset, +floats). */
    record MemWrite(int stream, int streamOffset, int floats, long sram) implements Instruction {
        public Unit unit() { return Unit.MEM; }
        public long occupancy(ChipConfig c) { return memCycles(c, 4L * floats); }
        public long latency(ChipConfig c, int chip) { return occupancy(c) + c.memLatency(); }
        public List<Location> reads() { return List.of(new Stream(stream, streamOffset, floats)); }
        public List<Location> writes() { return List.of(new Sram(sram, 4L * floats)); }
    }

    /**
     * Reads row {@code row} of a (rows, cols) weight table at sram and converts it to fp32 into the
     * stream: the embedding gather. The row index is an immediate (programs are lowered per step).
     */
    record MemReadRow(long sram, WeightFormat format, int rows, int cols, int row, int stream, int streamOffset)
            implements Instruction {
        public MemReadRow {
            if (row < 0 || row >= rows) {
                throw new IllegalArgumentException("row " + row + " outside the table's " + rows + " rows");
            }
        }
        public Unit unit() { return Unit.MEM; }
        long rowBytes() { return format.bytesFor(cols); }
        public long occupancy(ChipConfig c) { return memCycles(c, rowBytes()); }
        public long latency(ChipConfig c, int chip) { return occupancy(c) + c.memLatency(); }
        public List<Location> reads() { return List.of(new Sram(sram + row * rowBytes(), rowBytes())); }
        public List<Location> writes() { return List.of(new Stream(stream, streamOffset, cols)); }
    }

    /**
     * MXM weight load: streams a (rows, cols) weight tile from SRAM into an MXM weight buffer. It is
     * SRAM bandwidth that bounds it, so it occupies MEM, and the MXM keeps computing on its other
     * buffer meanwhile.
     */
    record LoadWeights(long sram, WeightFormat format, int rows, int cols, int buffer) implements Instruction {
        public Unit unit() { return Unit.MEM; }
        long bytes() { return format.bytesFor((long) rows * cols); }
        public long occupancy(ChipConfig c) { return memCycles(c, bytes()); }
        public long latency(ChipConfig c, int chip) { return occupancy(c) + c.memLatency(); }
        public List<Location> reads() { return List.of(new Sram(sram, bytes())); }
        public List<Location> writes() { return List.of(new WeightBuffer(buffer)); }
    }

    /**
     * A mixture's expert weight load: like {@link LoadWeights}, from the tile of the expert whose
     * index is the fp32 value at index[indexOffset] (a router's choice, data), at sram + expert ×
     * stride. The tile's shape, and so the cycles, are the same for every expert: only the chosen
     * expert's bytes are streamed, and the schedule does not depend on which one it is.
     */
    record LoadExpertWeights(long sram, long stride, int experts, WeightFormat format, int rows, int cols, int buffer,
                             int index, int indexOffset) implements Instruction {
        public LoadExpertWeights {
            if (experts < 1 || stride < format.bytesFor((long) rows * cols)) {
                throw new IllegalArgumentException("experts must be >= 1 and their tiles may not overlap: stride " + stride);
            }
        }
        public Unit unit() { return Unit.MEM; }
        long bytes() { return format.bytesFor((long) rows * cols); }
        public long occupancy(ChipConfig c) { return memCycles(c, bytes()); }
        public long latency(ChipConfig c, int chip) { return occupancy(c) + c.memLatency(); }
        /** Any expert's tile may be read, so the whole range counts for hazards. */
        public List<Location> reads() {
            return List.of(new Sram(sram, stride * (experts - 1) + bytes()), new Stream(index, indexOffset, 1));
        }
        public List<Location> writes() { return List.of(new WeightBuffer(buffer)); }
    }

    // ---------------------------------------------------------------- MXM

    /**
     * out[outOffset + b*outStride + r] = sum_j W[r, j] * in[inOffset + b*cols + j] for b in [0, batch),
     * r in [0, rows), with W the tile in the weight buffer; fp32 accumulation.
     */
    record Matvec(WeightFormat format, int rows, int cols, int buffer, int batch, int in, int inOffset,
                  int out, int outOffset, int outStride) implements Instruction {
        public Unit unit() { return Unit.MXM; }
        public long occupancy(ChipConfig c) { return ceilDiv((long) rows * cols * batch, c.macsPerCycle(format)); }
        public long latency(ChipConfig c, int chip) { return occupancy(c) + c.mxmLatency(); }
        public List<Location> reads() {
            return List.of(new WeightBuffer(buffer), new Stream(in, inOffset, batch * cols));
        }
        public List<Location> writes() {
            return List.of(new Stream(out, outOffset, (batch - 1) * outStride + rows));
        }
    }

    /**
     * Causal GQA attention of batch query rows at positions startPos.. against keys and values of
     * (startPos + batch) rows of nKvHeads*headDim, all streams from offset 0: scores (q·K, MXM),
     * softmax, and the weighted sum of V (MXM), fused so the numerics are the kernels' own. The
     * scores and the sum are costed as fp16 MXM work and the softmax as VXM-rate work on the MXM's
     * accumulators.
     */
    record Attention(int q, int k, int v, int out, int startPos, int batch, int nHeads, int nKvHeads, int headDim)
            implements Instruction {
        public Unit unit() { return Unit.MXM; }
        int positions() { return startPos + batch; }
        public long occupancy(ChipConfig c) {
            long macs = 2L * batch * nHeads * positions() * headDim;
            long softmaxOps = 4L * batch * nHeads * positions();
            return ceilDiv(macs, c.macsPerCycle(WeightFormat.F16)) + vxmCycles(c, softmaxOps);
        }
        public long latency(ChipConfig c, int chip) { return occupancy(c) + c.mxmLatency(); }
        public List<Location> reads() {
            int kv = positions() * nKvHeads * headDim;
            return List.of(new Stream(q, 0, batch * nHeads * headDim), new Stream(k, 0, kv), new Stream(v, 0, kv));
        }
        public List<Location> writes() { return List.of(new Stream(out, 0, batch * nHeads * headDim)); }
    }

    // ---------------------------------------------------------------- VXM

    enum BinaryOp {
        ADD, MUL, SILU_MUL;

        /** fp32 operations per element. */
        int cost() { return this == SILU_MUL ? 6 : 1; }
    }

    /** a[aOffset + i] = op(a[aOffset + i], b[bOffset + i]) for i in [0, n). */
    record VxmBinary(BinaryOp op, int a, int aOffset, int b, int bOffset, int n) implements Instruction {
        public Unit unit() { return Unit.VXM; }
        public long occupancy(ChipConfig c) { return vxmCycles(c, (long) n * op.cost()); }
        public long latency(ChipConfig c, int chip) { return occupancy(c) + c.vxmLatency(); }
        public List<Location> reads() { return List.of(new Stream(a, aOffset, n), new Stream(b, bOffset, n)); }
        public List<Location> writes() { return List.of(new Stream(a, aOffset, n)); }
    }

    enum UnaryOp {
        SCALE, RSQRT, EXP, SILU, SIGMOID, CONVERT_F16, CONVERT_BF16;

        int cost() {
            return switch (this) {
                case SCALE, CONVERT_F16, CONVERT_BF16 -> 1;
                case RSQRT, EXP -> 4;
                case SILU, SIGMOID -> 5;
            };
        }
    }

    /** s[offset + i] *= scalar[scalarOffset] for i in [0, n): a gate weight that is data, not an immediate. */
    record VxmScaleBy(int stream, int offset, int n, int scalar, int scalarOffset) implements Instruction {
        public Unit unit() { return Unit.VXM; }
        public long occupancy(ChipConfig c) { return vxmCycles(c, n); }
        public long latency(ChipConfig c, int chip) { return occupancy(c) + c.vxmLatency(); }
        public List<Location> reads() { return List.of(new Stream(stream, offset, n), new Stream(scalar, scalarOffset, 1)); }
        public List<Location> writes() { return List.of(new Stream(stream, offset, n)); }
    }

    /**
     * s[offset + i] = op(s[offset + i]) (SCALE multiplies by scalar; SIGMOID is a shared expert's gate,
     * the reference's arithmetic; CONVERT rounds to fp16/bf16 and back).
     */
    record VxmUnary(UnaryOp op, int stream, int offset, int n, float scalar) implements Instruction {
        public Unit unit() { return Unit.VXM; }
        public long occupancy(ChipConfig c) { return vxmCycles(c, (long) n * op.cost()); }
        public long latency(ChipConfig c, int chip) { return occupancy(c) + c.vxmLatency(); }
        public List<Location> reads() { return List.of(new Stream(stream, offset, n)); }
        public List<Location> writes() { return List.of(new Stream(stream, offset, n)); }
    }

    /**
     * Per row b: out[outOffset + b*n ..] = x[b] / sqrt(mean(x[b]^2) + eps) * w, w from offset 0 of its
     * stream: square, sum across lanes, rsqrt, two multiplies, fused on the VXM.
     */
    record RmsNorm(int x, int xOffset, int weight, int out, int outOffset, int n, int batch, float eps)
            implements Instruction {
        public Unit unit() { return Unit.VXM; }
        public long occupancy(ChipConfig c) { return vxmCycles(c, 4L * n * batch) + c.sxmLatency(); }
        public long latency(ChipConfig c, int chip) { return occupancy(c) + c.vxmLatency(); }
        public List<Location> reads() {
            return List.of(new Stream(x, xOffset, n * batch), new Stream(weight, 0, n));
        }
        public List<Location> writes() { return List.of(new Stream(out, outOffset, n * batch)); }
    }

    /**
     * Rotates adjacent pairs of nHeads heads in each of batch rows (row b at offset + b*rowStride,
     * position pos0 + b) by angle pos * freq[i], freq from offset 0 of its stream.
     */
    record Rope(int stream, int offset, int rowStride, int nHeads, int headDim, int pos0, int batch, int freq)
            implements Instruction {
        public Unit unit() { return Unit.VXM; }
        public long occupancy(ChipConfig c) { return vxmCycles(c, 6L * nHeads * headDim * batch); }
        public long latency(ChipConfig c, int chip) { return occupancy(c) + c.vxmLatency(); }
        int span() { return (batch - 1) * rowStride + nHeads * headDim; }
        public List<Location> reads() {
            return List.of(new Stream(stream, offset, span()), new Stream(freq, 0, headDim / 2));
        }
        public List<Location> writes() { return List.of(new Stream(stream, offset, span())); }
    }

    // ---------------------------------------------------------------- SXM

    /** out[outOffset + i] = sum over p = 0, 1, .. parts-1 in that order of src[srcOffset + p*n + i]. */
    record SxmReduce(int src, int srcOffset, int parts, int n, int out, int outOffset) implements Instruction {
        public Unit unit() { return Unit.SXM; }
        public long occupancy(ChipConfig c) { return sxmCycles(c, (long) parts * n); }
        public long latency(ChipConfig c, int chip) { return occupancy(c) + c.sxmLatency(); }
        public List<Location> reads() { return List.of(new Stream(src, srcOffset, parts * n)); }
        public List<Location> writes() { return List.of(new Stream(out, outOffset, n)); }
    }

    /**
     * Strided copy (permute, shift): for r in [0, rows): dst[dstOffset + r*dstStride, +length) =
     * src[srcOffset + r*srcStride, +length).
     */
    record SxmPermute(int src, int srcOffset, int srcStride, int dst, int dstOffset, int dstStride, int rows, int length)
            implements Instruction {
        public Unit unit() { return Unit.SXM; }
        public long occupancy(ChipConfig c) { return sxmCycles(c, (long) rows * length); }
        public long latency(ChipConfig c, int chip) { return occupancy(c) + c.sxmLatency(); }
        public List<Location> reads() {
            return List.of(new Stream(src, srcOffset, (rows - 1) * srcStride + length));
        }
        public List<Location> writes() {
            return List.of(new Stream(dst, dstOffset, (rows - 1) * dstStride + length));
        }
    }

    /**
     * A mixture's routing of n router logits at src[srcOffset..], the reference's ({@code MoeRouter}):
     * softmax over all n, the k most probable (ties to the lower index) in ascending index order,
     * dst[dstOffset + j] = the j-th one's index (as fp32) and dst[dstOffset + k + j] = its
     * probability, divided by the k probabilities' sum when normalize. Costed as the softmax's three
     * passes over n (max, exponent and sum, divide) and k passes of a select over n on the SXM.
     */
    record SxmRoute(int src, int srcOffset, int n, int k, boolean normalize, int dst, int dstOffset) implements Instruction {
        public SxmRoute {
            if (k < 1 || k > n) {
                throw new IllegalArgumentException("routing needs 1 <= k <= n, got k " + k + " of " + n);
            }
        }
        public Unit unit() { return Unit.SXM; }
        public long occupancy(ChipConfig c) { return sxmCycles(c, (long) (k + 3) * n); }
        public long latency(ChipConfig c, int chip) { return occupancy(c) + c.sxmLatency(); }
        public List<Location> reads() { return List.of(new Stream(src, srcOffset, n)); }
        public List<Location> writes() { return List.of(new Stream(dst, dstOffset, 2 * k)); }
    }

    /** dst[dstOffset + j*rows + i] = src[srcOffset + i*cols + j]: a (rows, cols) tile transposed. */
    record SxmTranspose(int src, int srcOffset, int rows, int cols, int dst, int dstOffset) implements Instruction {
        public Unit unit() { return Unit.SXM; }
        public long occupancy(ChipConfig c) { return sxmCycles(c, (long) rows * cols); }
        public long latency(ChipConfig c, int chip) { return occupancy(c) + c.sxmLatency(); }
        public List<Location> reads() { return List.of(new Stream(src, srcOffset, rows * cols)); }
        public List<Location> writes() { return List.of(new Stream(dst, dstOffset, rows * cols)); }
    }

    // ---------------------------------------------------------------- C2C

    /**
     * Sends SRAM bytes (fp32 activations) to another chip's matching {@link C2cRecv} (same tag). The
     * link is busy for the bytes at the config's wire precision / bandwidth cycles (the values keep
     * fp32: wire precision is a cost, not a rounding); the data lands after hops × the hop latency
     * too. Within a node the link is direct (one hop, linksPerPeer links); a transfer between nodes
     * takes one link and the hops of the topology ({@link ChipConfig#hops}).
     */
    record C2cSend(long sram, long bytes, int toChip, int tag, int hops) implements Instruction {
        public C2cSend {
            if (hops < 1) {
                throw new IllegalArgumentException("a send takes at least one hop, got " + hops);
            }
        }
        /** A send between two chips of one node: one hop. */
        public C2cSend(long sram, long bytes, int toChip, int tag) { this(sram, bytes, toChip, tag, 1); }
        public Unit unit() { return Unit.C2C; }
        public long occupancy(ChipConfig c) { return 1; }
        /** Cycles the link is busy. */
        public long linkCycles(ChipConfig c, int chip) {
            return (long) Math.ceil(c.wireBytes(bytes) / c.linkBytesPerCycle(sameNode(c, chip)));
        }
        boolean sameNode(ChipConfig c, int chip) { return chip / c.chipsPerNode() == toChip / c.chipsPerNode(); }
        public long latency(ChipConfig c, int chip) {
            return linkCycles(c, chip) + (long) hops * c.c2cHopLatencyCycles();
        }
        public List<Location> reads() { return List.of(new Sram(sram, bytes)); }
        public List<Location> writes() { return List.of(); }
    }

    /** Receives the matching send's bytes into SRAM; must issue once they have arrived. */
    record C2cRecv(int fromChip, int tag, long sram, long bytes) implements Instruction {
        public Unit unit() { return Unit.C2C; }
        public long occupancy(ChipConfig c) { return 1; }
        public long latency(ChipConfig c, int chip) { return 1 + c.memLatency(); }
        public List<Location> reads() { return List.of(); }
        public List<Location> writes() { return List.of(new Sram(sram, bytes)); }
    }
}
