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
import dev.tandem.device.lpu.Instruction.SxmReduce;
import dev.tandem.device.lpu.Instruction.VxmBinary;
import dev.tandem.device.lpu.LlamaLayout.Shard;
import dev.tandem.device.lpu.LlamaLayout.Stage;
import dev.tandem.device.lpu.ModelShape.Tensor;
import dev.tandem.runtime.model.LlamaConfig;

import java.util.List;

/**
 * Lowers one decode step of a Llama model (every layer, the embedding and the logits) to one static
 * program over the chips of a {@link LlamaLayout}: the same algorithm as the reference forward pass,
 * in the same order of operations, so on one chip the logits are bit-identical to it.
 *
 * <p>Per layer and chip: rmsnorm; the chip's rows of q|k|v (weight tiles streamed into the MXM's
 * buffers, alternating, so the next tile loads while the MXM multiplies); all-gather of q|k|v over
 * C2C; rope; the new K/V row into the SRAM KV cache; attention over positions [0, pos]; the chip's
 * rows of Wo, all-gather, residual add; rmsnorm; the chip's hidden range of W1 and W3, silu·mul,
 * W2 over that range, all-reduce of the partial sums (each chip sums the parts in chip order, so
 * all hold identical bits), residual add. Between stages the residual goes to the next node.
 */
public final class LlamaLowering {
    // Stream registers, by role.
    static final int S_X = 0, S_NORM = 1, S_XB = 2, S_QKV = 3, S_FREQ = 4, S_K = 5, S_V = 6, S_ATT = 7, S_O = 8,
            S_G = 9, S_U = 10, S_P = 11, S_PARTS = 12, S_LOGITS = 13, S_EXPERT = 14, S_ROUTER = 15;

    private final LlamaLayout layout;
    private final LlamaConfig c;
    private final ListScheduler s;
    private final int[] nextBuffer;

    private LlamaLowering(LlamaLayout layout) {
        this.layout = layout;
        this.c = layout.shape().config();
        this.s = new ListScheduler(layout.config(), layout.chips());
        this.nextBuffer = new int[layout.chips()];
        layout.allocations().forEach(s::addAllocation);
    }

    /** The program of the decode step for token at position pos. */
    public static StaticProgram decodeStep(LlamaLayout layout, int token, int pos) {
        LlamaConfig c = layout.shape().config();
        if (token < 0 || token >= c.vocabSize()) {
            throw new IllegalArgumentException("token " + token + " outside the vocabulary of " + c.vocabSize());
        }
        if (pos < 0 || pos >= layout.maxPositions()) {
            throw new IllegalArgumentException("position " + pos + " outside the KV cache of " + layout.maxPositions());
        }
        LlamaLowering l = new LlamaLowering(layout);
        l.lower(token, pos);
        return l.s.build();
    }

    private long at(int chip, String name) { return layout.offset(chip, name); }

    private void lower(int token, int pos) {
        List<Stage> stages = layout.stages();
        embed(stages.getFirst(), token);
        for (int k = 0; k < stages.size(); k++) {
            Stage st = stages.get(k);
            if (k > 0) {
                Stage prev = stages.get(k - 1);
                for (int i = 0; i < st.tp(); i++) {
                    int from = prev.chips()[i % prev.tp()], to = st.chips()[i];
                    s.transfer(from, at(from, "x"), to, at(to, "x"), 4L * c.dim());
                }
            }
            for (int b = st.firstBlock(); b < st.endBlock(); b++) {
                if (Stage.isAttention(b)) {
                    attentionBlock(st, Stage.layerOf(b), pos);
                    if (b == st.endBlock() - 1) {
                        // The stage ends between attention and FFN: the residual goes on from SRAM.
                        for (int chip : st.chips()) {
                            s.emit(chip, new MemWrite(S_X, 0, c.dim(), at(chip, "x")));
                        }
                    }
                } else {
                    if (b == st.firstBlock()) {
                        for (int chip : st.chips()) {
                            s.emit(chip, new MemRead(at(chip, "x"), c.dim(), S_X, 0));
                        }
                    }
                    ffnBlock(st, Stage.layerOf(b));
                }
            }
        }
        logits(stages.getLast());
    }

    /** The chip holding the token's row reads it and sends it to the rest of the node. */
    private void embed(Stage st, int token) {
        for (int chip : st.chips()) {
            for (Shard sh : layout.shards(chip, Tensor.EMBEDDING, 0, 0)) {
                if (token >= sh.rowStart() && token < sh.rowStart() + sh.rows()) {
                    s.emit(chip, new MemReadRow(sh.sram(), sh.format(), sh.rows(), sh.cols(), token - sh.rowStart(), S_X, 0));
                    s.emit(chip, new MemWrite(S_X, 0, c.dim(), at(chip, "x")));
                    for (int peer : st.chips()) {
                        if (peer != chip) {
                            s.transfer(chip, at(chip, "x"), peer, at(peer, "x"), 4L * c.dim());
                        }
                    }
                }
            }
        }
    }

    /**
     * Streams every shard of a tensor on a chip through the MXM in tiles: out[outOffset + row] = W x,
     * row counted from the tensor's first row when globalRows, else from the shard's.
     */
    private void matvec(int chip, List<Shard> shards, int in, int out, int outOffset, boolean globalRows) {
        for (Shard sh : shards) {
            int base = outOffset + (globalRows ? sh.rowStart() : 0);
            long rowBytes = sh.format().bytesFor(sh.cols());
            int tileRows = (int) Math.max(1, Math.min(sh.rows(), layout.config().mxmWeightBufferBytes() / rowBytes));
            for (int r = 0; r < sh.rows(); r += tileRows) {
                int rows = Math.min(tileRows, sh.rows() - r);
                int buffer = nextBuffer[chip];
                nextBuffer[chip] = (buffer + 1) % layout.config().mxmWeightBuffers();
                s.emit(chip, new LoadWeights(sh.sram() + r * rowBytes, sh.format(), rows, sh.cols(), buffer));
                s.emit(chip, new Matvec(sh.format(), rows, sh.cols(), buffer, 1, in, 0, out, base + r, 0));
            }
        }
    }

    private int rowsOf(List<Shard> shards) {
        return shards.stream().mapToInt(Shard::rows).sum();
    }

    /** Each chip sends [offset, +floats) of region to every other chip of the stage, into the same place. */
    private void allGather(Stage st, String region, int[] offsets, int[] floats) {
        for (int i = 0; i < st.tp(); i++) {
            int from = st.chips()[i];
            for (int to : st.chips()) {
                if (to != from && floats[i] > 0) {
                    s.transfer(from, at(from, region) + 4L * offsets[i], to, at(to, region) + 4L * offsets[i], 4L * floats[i]);
                }
            }
        }
    }

    private void attentionBlock(Stage st, int layer, int pos) {
        int dim = c.dim(), qDim = c.nHeads() * c.headDim(), kvDim = c.kvDim(), total = qDim + 2 * kvDim;
        int tp = st.tp();
        int[] qkvStart = new int[tp], qkvRows = new int[tp], woStart = new int[tp], woRows = new int[tp];
        for (int i = 0; i < tp; i++) {
            int chip = st.chips()[i];
            s.emit(chip, new MemRead(at(chip, "x"), dim, S_X, 0));
            s.emit(chip, new MemRead(at(chip, "norm.attn." + layer), dim, S_NORM, 0));
            s.emit(chip, new RmsNorm(S_X, 0, S_NORM, S_XB, 0, dim, 1, c.rmsEps()));
            List<Shard> q = layout.shards(chip, Tensor.WQ, layer, 0), k = layout.shards(chip, Tensor.WK, layer, 0),
                    v = layout.shards(chip, Tensor.WV, layer, 0);
            // This chip's rows are one contiguous range of q|k|v.
            int start = !q.isEmpty() ? q.getFirst().rowStart() : !k.isEmpty() ? qDim + k.getFirst().rowStart()
                    : !v.isEmpty() ? qDim + kvDim + v.getFirst().rowStart() : 0;
            matvec(chip, q, S_XB, S_QKV, 0, true);
            matvec(chip, k, S_XB, S_QKV, qDim, true);
            matvec(chip, v, S_XB, S_QKV, qDim + kvDim, true);
            qkvStart[i] = start;
            qkvRows[i] = rowsOf(q) + rowsOf(k) + rowsOf(v);
            if (qkvRows[i] > 0 && tp > 1) {
                s.emit(chip, new MemWrite(S_QKV, start, qkvRows[i], at(chip, "qkv") + 4L * start));
            }
        }
        if (tp > 1) {
            allGather(st, "qkv", qkvStart, qkvRows);
        }
        for (int i = 0; i < tp; i++) {
            int chip = st.chips()[i];
            if (tp > 1) {
                // Everyone else's slices arrived in SRAM; this chip's own are still in the stream.
                for (int j = 0; j < tp; j++) {
                    if (j != i && qkvRows[j] > 0) {
                        s.emit(chip, new MemRead(at(chip, "qkv") + 4L * qkvStart[j], qkvRows[j], S_QKV, qkvStart[j]));
                    }
                }
            }
            s.emit(chip, new MemRead(at(chip, "ropefreq"), c.headDim() / 2, S_FREQ, 0));
            s.emit(chip, new Rope(S_QKV, 0, qDim, c.nHeads(), c.headDim(), pos, 1, S_FREQ));
            s.emit(chip, new Rope(S_QKV, qDim, kvDim, c.nKvHeads(), c.headDim(), pos, 1, S_FREQ));
            s.emit(chip, new MemWrite(S_QKV, qDim, kvDim, at(chip, "kv.k." + layer) + 4L * pos * kvDim));
            s.emit(chip, new MemWrite(S_QKV, qDim + kvDim, kvDim, at(chip, "kv.v." + layer) + 4L * pos * kvDim));
            s.emit(chip, new MemRead(at(chip, "kv.k." + layer), (pos + 1) * kvDim, S_K, 0));
            s.emit(chip, new MemRead(at(chip, "kv.v." + layer), (pos + 1) * kvDim, S_V, 0));
            s.emit(chip, new Attention(S_QKV, S_K, S_V, S_ATT, pos, 1, c.nHeads(), c.nKvHeads(), c.headDim()));
            List<Shard> wo = layout.shards(chip, Tensor.WO, layer, 0);
            woStart[i] = wo.isEmpty() ? 0 : wo.getFirst().rowStart();
            woRows[i] = rowsOf(wo);
            matvec(chip, wo, S_ATT, S_O, 0, true);
            if (woRows[i] > 0 && tp > 1) {
                s.emit(chip, new MemWrite(S_O, woStart[i], woRows[i], at(chip, "o") + 4L * woStart[i]));
            }
        }
        if (tp > 1) {
            allGather(st, "o", woStart, woRows);
        }
        for (int i = 0; i < tp; i++) {
            int chip = st.chips()[i];
            if (tp > 1) {
                for (int j = 0; j < tp; j++) {
                    if (j != i && woRows[j] > 0) {
                        s.emit(chip, new MemRead(at(chip, "o") + 4L * woStart[j], woRows[j], S_O, woStart[j]));
                    }
                }
            }
            s.emit(chip, new VxmBinary(BinaryOp.ADD, S_X, 0, S_O, 0, dim));
        }
    }

    private void ffnBlock(Stage st, int layer) {
        int dim = c.dim(), tp = st.tp();
        int[] partOf = new int[tp];
        int parts = 0;
        for (int i = 0; i < tp; i++) {
            partOf[i] = layout.shards(st.chips()[i], Tensor.W2, layer, 0).isEmpty() ? -1 : parts++;
        }
        for (int i = 0; i < tp; i++) {
            int chip = st.chips()[i];
            s.emit(chip, new MemRead(at(chip, "norm.ffn." + layer), dim, S_NORM, 0));
            s.emit(chip, new RmsNorm(S_X, 0, S_NORM, S_XB, 0, dim, 1, c.rmsEps()));
            if (layout.shape().experts() > 1) {
                // The router's scores; which experts win is data, the expected load is activeExperts of them.
                matvec(chip, layout.shards(chip, Tensor.ROUTER, layer, 0), S_XB, S_ROUTER, 0, false);
            }
            if (partOf[i] < 0) {
                continue;
            }
            for (int e = 0; e < layout.shape().activeExperts(); e++) {
                List<Shard> w1 = layout.shards(chip, Tensor.W1, layer, e);
                int hidden = rowsOf(w1);
                matvec(chip, w1, S_XB, S_G, 0, false);
                matvec(chip, layout.shards(chip, Tensor.W3, layer, e), S_XB, S_U, 0, false);
                s.emit(chip, new VxmBinary(BinaryOp.SILU_MUL, S_G, 0, S_U, 0, hidden));
                matvec(chip, layout.shards(chip, Tensor.W2, layer, e), S_G, e == 0 ? S_P : S_EXPERT, 0, false);
                if (e > 0) {
                    s.emit(chip, new VxmBinary(BinaryOp.ADD, S_P, 0, S_EXPERT, 0, dim));
                }
            }
            if (parts > 1) {
                s.emit(chip, new MemWrite(S_P, 0, dim, at(chip, "partials") + 4L * partOf[i] * dim));
            }
        }
        if (parts > 1) {
            for (int i = 0; i < tp; i++) {
                int from = st.chips()[i];
                if (partOf[i] < 0) {
                    continue;
                }
                long off = 4L * partOf[i] * dim;
                for (int to : st.chips()) {
                    if (to != from) {
                        s.transfer(from, at(from, "partials") + off, to, at(to, "partials") + off, 4L * dim);
                    }
                }
            }
        }
        for (int i = 0; i < tp; i++) {
            int chip = st.chips()[i];
            if (parts > 1) {
                s.emit(chip, new MemRead(at(chip, "partials"), parts * dim, S_PARTS, 0));
                s.emit(chip, new SxmReduce(S_PARTS, 0, parts, dim, S_P, 0));
            }
            s.emit(chip, new VxmBinary(BinaryOp.ADD, S_X, 0, S_P, 0, dim));
            s.emit(chip, new MemWrite(S_X, 0, dim, at(chip, "x")));
        }
    }

    private void logits(Stage st) {
        int dim = c.dim();
        int gather = layout.logitsChip();
        for (int chip : st.chips()) {
            s.emit(chip, new MemRead(at(chip, "x"), dim, S_X, 0));
            s.emit(chip, new MemRead(at(chip, "norm.final"), dim, S_NORM, 0));
            s.emit(chip, new RmsNorm(S_X, 0, S_NORM, S_X, 0, dim, 1, c.rmsEps()));
            List<Shard> out = layout.shards(chip, Tensor.OUTPUT, 0, 0);
            if (out.isEmpty()) {
                continue;
            }
            int start = out.getFirst().rowStart(), rows = rowsOf(out);
            matvec(chip, out, S_X, S_LOGITS, 0, true);
            long off = 4L * start;
            s.emit(chip, new MemWrite(S_LOGITS, start, rows, at(chip, "logits") + off));
            if (chip != gather) {
                s.transfer(chip, at(chip, "logits") + off, gather, at(gather, "logits") + off, 4L * rows);
            }
        }
    }
}
