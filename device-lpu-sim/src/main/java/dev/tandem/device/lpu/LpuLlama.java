package dev.tandem.device.lpu;

import dev.tandem.device.lpu.ModelShape.Tensor;
import dev.tandem.device.lpu.StageLayout.Filled;
import dev.tandem.device.lpu.StageLayout.Stage;
import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.model.LlamaConfig;
import dev.tandem.runtime.model.LlamaWeights;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * A Llama model resident on the stages of a {@link StageLayout}, decoded step by step with exactly
 * the programs an {@link LpuDevice} runs for a plan's executor: the embed program on the first
 * stage, each block's fused program ({@link AttentionBlockLowering}, {@link FfnBlockLowering}) on its
 * stage's chips, the head's copy, rmsnorm and matmul on the last; between stages x moves from one
 * node's home chip to the next one's over C2C (two hops). A step's cycles are the sum of its
 * programs', which is what the compiler's cost provider prices for the same ops.
 *
 * <p>A mixture-of-experts FFN runs its MoE block ({@link MoeFfnBlockLowering}: router, top-k, the
 * chosen experts' tiles by index), whose cycles do not depend on the choice.
 */
public final class LpuLlama implements AutoCloseable {
    /** One program of a step and the stage whose chips run it; {@link #HOP} for a move between stages. */
    record StepProgram(int stage, StaticProgram program) {}

    static final int HOP = -1;

    private final StageLayout layout;
    private final List<Filled> placed;
    private final ChipArray[] arrays;
    private final float[] logits, x;
    private RunStats lastStep;

    public LpuLlama(LlamaConfig config, LlamaWeights weights, float[] ropeInvFreq, ChipConfig chip, int chips, int maxPositions) {
        this(config, weights, ropeInvFreq, chip, chips, maxPositions, true);
    }

    /** @param hostParallel see {@link ChipArray#ChipArray(ChipConfig, int, boolean)} */
    public LpuLlama(LlamaConfig config, LlamaWeights weights, float[] ropeInvFreq, ChipConfig chip, int chips, int maxPositions,
                    boolean hostParallel) {
        this.layout = new StageLayout(ModelShape.of(config, weights), chip, chips, maxPositions);
        this.placed = layout.placed();
        this.arrays = arrays(layout, hostParallel);
        this.logits = new float[config.vocabSize()];
        this.x = new float[config.dim()];
        try {
            for (Stage st : layout.stages()) {
                load(st, placed.get(st.index()), arrays[st.index()], weights, ropeInvFreq);
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** One array per stage, then one for the stage-to-stage hops (its programs span two nodes; it holds no data). */
    static ChipArray[] arrays(StageLayout layout, boolean hostParallel) {
        List<Stage> stages = layout.stages();
        ChipArray[] a = new ChipArray[stages.size() + 1];
        for (Stage st : stages) {
            a[st.index()] = new ChipArray(layout.config(), st.tp(), hostParallel);
        }
        a[stages.size()] = new ChipArray(layout.config(), layout.config().chipsPerNode() + 1);
        return a;
    }

    private static void load(Stage st, Filled f, ChipArray array, LlamaWeights w, float[] ropeInvFreq) {
        if (f.embedding != null) {
            writeTable(array, f.embedding, w.tokenEmbedding());
        }
        if (f.output != null && f.output != f.embedding) {
            writeTable(array, f.output, w.output());
        }
        if (f.finalNorm != null) {
            array.writeFloats(0, f.finalNorm.offset(), w.finalNorm(), 0, w.finalNorm().length);
        }
        for (int b = st.firstBlock(); b < st.endBlock(); b++) {
            int l = Stage.layerOf(b);
            BlockPlacement p = f.blocks.get(b - st.firstBlock());
            Map<String, WeightMatrix> matrices = Stage.isAttention(b)
                    ? Map.of("wq", w.wq()[l], "wk", w.wk()[l], "wv", w.wv()[l], "wo", w.wo()[l])
                    : Map.of("w1", w.w1()[l], "w3", w.w3()[l], "w2", w.w2()[l]);
            p.writeWeights(array, matrices);
            p.writeEverywhere(array, "norm", Stage.isAttention(b) ? w.attnNorm()[l] : w.ffnNorm()[l]);
            if (Stage.isAttention(b)) {
                p.writeEverywhere(array, "ropefreq", ropeInvFreq);
            }
        }
    }

    private static void writeTable(ChipArray array, OpPrograms.Table t, WeightMatrix m) {
        long rowBytes = m.format().bytesFor(m.cols());
        for (OpPrograms.Piece p : t.pieces()) {
            array.writeBytes(p.chip(), p.sram(), m.data().asSlice(p.rowStart() * rowBytes, p.bytes()));
        }
    }

    public StageLayout layout() { return layout; }

    /** The timing of the last step. */
    public RunStats lastStep() { return lastStep; }

    /** Runs the decode step of token at pos; returns the logits (reused by the next call). */
    public float[] forward(int token, int pos) {
        lastStep = run(layout, stepPrograms(layout, placed, token, pos), arrays, ChipArray.Mode.FULL, this::moveX);
        Filled last = placed.getLast();
        arrays[placed.size() - 1].readFloats(0, last.logits.offset(), logits, 0, logits.length);
        return logits;
    }

    /** The programs of the decode step of token at pos, in order, as {@link #forward} would run them. */
    List<StepProgram> stepPrograms(int token, int pos) {
        return stepPrograms(layout, placed, token, pos);
    }

    /** A hop's data: x (one row) from the home chip of the stage before to the home chip of the stage after. */
    private void moveX(int toStage) {
        arrays[toStage - 1].readFloats(0, placed.get(toStage - 1).x.offset(), x, 0, x.length);
        arrays[toStage].writeFloats(0, placed.get(toStage).x.offset(), x, 0, x.length);
    }

    /** The programs of one decode step, in order (placements are only read; scratch is freed before this returns). */
    static List<StepProgram> stepPrograms(StageLayout layout, List<Filled> placed, int token, int pos) {
        ModelShape shape = layout.shape();
        LlamaConfig c = shape.config();
        if (token < 0 || token >= c.vocabSize()) {
            throw new IllegalArgumentException("token " + token + " outside the vocabulary of " + c.vocabSize());
        }
        if (pos < 0 || pos >= layout.maxPositions()) {
            throw new IllegalArgumentException("position " + pos + " outside the KV cache of " + layout.maxPositions());
        }
        ChipConfig config = layout.config();
        List<StepProgram> out = new ArrayList<>();
        for (Stage st : layout.stages()) {
            Filled f = placed.get(st.index());
            int k = st.index(), tp = st.tp();
            if (k > 0) {
                int hops = config.hops(layout.stages().get(k - 1).firstChip(), st.firstChip());
                out.add(new StepProgram(HOP, hop(config, placed.get(k - 1).x, f.x, c.dim(), hops)));
            }
            List<Allocation> held = new ArrayList<>();
            try {
                if (f.embedding != null) {
                    out.add(new StepProgram(k, OpPrograms.embed(config, tp, f.embedding, new int[] {token}, f.x, f.memory.scratch(held))));
                }
                for (int b = st.firstBlock(); b < st.endBlock(); b++) {
                    BlockPlacement block = f.blocks.get(b - st.firstBlock());
                    if (Stage.isAttention(b)) {
                        out.add(new StepProgram(k, AttentionBlockLowering.lower(config, c, block, f.x, pos, 1)));
                    } else if (shape.experts() == 1) {
                        out.add(new StepProgram(k, FfnBlockLowering.lower(config, c, block, f.x, 1)));
                    } else {
                        out.add(new StepProgram(k, MoeFfnBlockLowering.lower(config, c,
                                MoeFfnBlockLowering.mixtureOf(c, shape.experts(), shape.activeExperts()), block, f.x, 1)));
                    }
                }
                if (f.logits != null) {
                    out.add(new StepProgram(k, OpPrograms.copy(config, tp, f.x, 0, f.last, 0, c.dim())));
                    out.add(new StepProgram(k, OpPrograms.rmsnorm(config, tp, f.last, f.last, f.finalNorm, c.dim(), 1, c.rmsEps())));
                    out.add(new StepProgram(k, f.headMatmul(config, tp)));
                }
            } finally {
                f.memory.release(held);
            }
        }
        return out;
    }

    /**
     * x's row from home chip 0 of one stage to home chip 0 of the next: chip chipsPerNode of a
     * two-node program, over the hops the topology puts between the stages' first chips.
     */
    static StaticProgram hop(ChipConfig config, Allocation from, Allocation to, int dim, int hops) {
        int next = config.chipsPerNode();
        ListScheduler s = new ListScheduler(config, next + 1);
        s.addAllocation(from);
        s.addAllocation(new Allocation(next, to.name(), to.offset(), to.bytes(), 0, Allocation.FOREVER));
        s.transfer(0, from.offset(), next, to.offset(), 4L * dim, hops);
        return s.build();
    }

    /** What a hop does to data in a full run: the host copies x between the stages' arrays. */
    interface Mover {
        void move(int toStage);
    }

    /**
     * Validates and runs a step's programs one after another on arrays (per stage, then the hops')
     * and returns their timing over all the layout's chips; the mover carries x across hops.
     */
    static RunStats run(StageLayout layout, List<StepProgram> programs, ChipArray[] arrays, ChipArray.Mode mode, Mover mover) {
        long cycles = 0, instructions = 0;
        Map<Unit, Long> busy = new EnumMap<>(Unit.class);
        int hopsSeen = 0;
        for (StepProgram sp : programs) {
            RunStats r;
            if (sp.stage() == HOP) {
                r = arrays[arrays.length - 1].run(sp.program(), ChipArray.Mode.TIMING);
                hopsSeen++;
                if (mode == ChipArray.Mode.FULL) {
                    mover.move(hopsSeen);
                }
            } else {
                r = arrays[sp.stage()].run(sp.program(), mode);
            }
            cycles += r.cycles();
            instructions += r.instructions();
            r.busyCycles().forEach((u, n) -> busy.merge(u, n, Long::sum));
        }
        // The host samples the next token from the logits before the next step can embed it.
        cycles += layout.config().hostRoundTripCycles(layout.shape().config().vocabSize());
        return new RunStats(layout.config(), layout.chips(), cycles, instructions, busy);
    }

    /** Lowers, validates and runs one decode step without data: the cycles of a model too large for the host. */
    public static RunStats timeStep(ModelShape shape, ChipConfig chip, int chips, int maxPositions, int pos) {
        StageLayout layout = new StageLayout(shape, chip, chips, maxPositions);
        List<Filled> placed = layout.placed();
        ChipArray[] arrays = arrays(layout, false);
        try {
            return run(layout, stepPrograms(layout, placed, 1, pos), arrays, ChipArray.Mode.TIMING, k -> { });
        } finally {
            for (ChipArray a : arrays) {
                a.close();
            }
        }
    }

    /** Bytes of weights the busiest chip of each stage streams per step, stage after stage: the step's SRAM-bandwidth floor. */
    static long streamCycles(StageLayout layout, List<Filled> placed) {
        ModelShape shape = layout.shape();
        long cycles = 0;
        for (Stage st : layout.stages()) {
            long[] bytes = new long[st.tp()];
            Filled f = placed.get(st.index());
            for (int b = st.firstBlock(); b < st.endBlock(); b++) {
                for (BlockPlacement.Slice sl : f.blocks.get(b - st.firstBlock()).weights()) {
                    // A mixture streams activeExperts experts' slices (of one shape whichever they are).
                    int hash = sl.tensor().indexOf('#');
                    if (hash < 0 || Integer.parseInt(sl.tensor().substring(hash + 1)) < shape.activeExperts()) {
                        bytes[sl.chip()] += sl.bytes();
                    }
                }
            }
            long max = 0;
            for (long v : bytes) {
                max = Math.max(max, v);
            }
            cycles += max / layout.config().memBytesPerCycle();
        }
        return cycles;
    }

    @Override
    public void close() {
        for (ChipArray a : arrays) {
            if (a != null) {
                a.close();
            }
        }
    }
}
