package dev.tandem.device.lpu;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.error.TandemException;
import dev.tandem.runtime.compiler.BatchShape;
import dev.tandem.runtime.compiler.BatchShape.Run;
import dev.tandem.runtime.compiler.DeviceGroup;
import dev.tandem.runtime.compiler.DeviceSource;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.Op;
import dev.tandem.runtime.compiler.OpCostProvider;
import dev.tandem.runtime.compiler.OpKind;
import dev.tandem.runtime.compiler.Phase;
import dev.tandem.runtime.device.DeviceMemoryException;
import dev.tandem.runtime.model.LlamaConfig;
import dev.tandem.runtime.model.MoeConfig;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.concurrent.ConcurrentHashMap;

/**
 * LPU op costs for the compiler. Attention and FFN: the cycles of exactly the fused block programs an
 * {@link LpuDevice} with tp fixed chips runs for them ({@link AttentionBlockLowering},
 * {@link FfnBlockLowering}), placed by the same placement code on empty chips. A block's cycles do
 * not depend on where its regions sit in SRAM (only on which accesses overlap, and every region is
 * its own allocation), so these predictions equal the device's measured cycles exactly.
 *
 * <ul>
 *   <li>Attention: the op's {@link BatchShape} says which rows of which sequences at which positions,
 *       and whether the cache is contiguous per sequence or a paged pool. Decode with a contiguous
 *       cache: one sequence's row, one program. Decode over a paged pool: the whole step (decode rows
 *       and prefill chunks mixed) as one program of {@link LpuPagedAttentionBlock}'s, its runs given
 *       blocks of their own (which blocks a table names does not change the cycles). Prefill: each
 *       run in chunks of {@link ModelGraph#PREFILL_CHUNK} from its first position, as the executors
 *       run them, one program per chunk, summed.</li>
 *   <li>FFN: an FFN row does not depend on its position, so a decode step of B rows is one program
 *       of B rows and prefill the rows in chunks of {@link ModelGraph#PREFILL_CHUNK}.</li>
 *   <li>The embedding and the head: the cycles of the device's embed program (one token in decode,
 *       the prompt in chunks of {@link ModelGraph#PREFILL_CHUNK} in prefill) and of its head (copy
 *       of the last row, rmsnorm, matmul by the output table; once per phase), built by
 *       {@link OpPrograms} on chips filled in PlanForward's order: x, the embedding table, the
 *       output table, then the norm, last-row and logits buffers. Their cycles too depend only on
 *       which chip holds which rows, not on SRAM offsets. The tables are taken to be in the graph's
 *       format (the layer matrices' format, all the graph knows); a model that stores its tables
 *       otherwise is mispriced, which an executed plan reports as a mismatch. Where the placement
 *       leaves the cycles unknown (see {@code lowerTable}) they answer empty.</li>
 *   <li>A mixture's FFN: the cycles of its MoE block program ({@link MoeFfnBlockLowering}: router,
 *       the reference's routing, the chosen experts' tiles by index, a shared expert; the same cycles
 *       for any choice), rows one at a time, its router in the graph's router format and its shape
 *       from the config's mixture. A block that does not fit on tp chips on its own answers empty.</li>
 * </ul>
 * Results are cached per (preset, shape, format, tp, program), so the compiler's many calls for one
 * layer shape lower each program once.
 */
public final class LpuOpCostProvider implements OpCostProvider {
    /**
     * What fixes one block program's cycles: for attention the runs and the KV block size (0: a
     * contiguous cache); maxPositions only decides whether it fits.
     */
    private record Key(ChipConfig chip, LlamaConfig config, WeightFormat format, WeightFormat routerFormat, int tp, OpKind kind,
                       int kvBlockSize, List<Run> runs, int batch, int maxPositions, int experts, int activeExperts) {}

    private static final long NO_FIT = -1;

    private final Map<Key, Long> cycles = new ConcurrentHashMap<>();

    @Override
    public String name() { return "lpu-sim program cycles"; }

    @Override
    public OptionalDouble seconds(DeviceGroup group, ModelGraph graph, Op op, int tensorParallel) {
        if (group.source() != DeviceSource.EMULATED_LPU) {
            return OptionalDouble.empty();
        }
        ChipConfig chip;
        try {
            // The pool entry's overrides (lp30*2:clockHz=...) price the chips the executor opens with them.
            chip = LpuOptions.ofPreset(group.name(), group.options());
        } catch (TandemException e) {
            return OptionalDouble.empty();
        }
        if (op.kind() == OpKind.EMBED || op.kind() == OpKind.HEAD) {
            return tableOp(chip, graph, op, tensorParallel);
        }
        if (op.kind() != OpKind.ATTENTION && op.kind() != OpKind.FFN) {
            return OptionalDouble.empty();
        }
        LlamaConfig c = graph.config();
        long rowBytes = 2L * c.dim();
        if (op.activationBytes() <= 0 || op.activationBytes() % rowBytes != 0) {
            return OptionalDouble.empty();
        }
        int rows = Math.toIntExact(op.activationBytes() / rowBytes);
        WeightFormat format = formatOf(graph), router = routerFormatOf(graph);
        long perToken = graph.kvBytesPerTokenPerLayer();
        if (op.kind() == OpKind.FFN) {
            // An FFN row does not depend on its position: a decode step of B rows is one program of B rows.
            if (op.phase() == Phase.DECODE) {
                return secondsOf(chip, cyclesOf(new Key(chip, c, format, router, tensorParallel, OpKind.FFN, 0, List.of(), rows, 0,
                        graph.experts(), graph.activeExperts())));
            }
            long total = 0;
            for (int done = 0; done < rows; done += ModelGraph.PREFILL_CHUNK) {
                long one = cyclesOf(new Key(chip, c, format, router, tensorParallel, OpKind.FFN, 0, List.of(),
                        Math.min(ModelGraph.PREFILL_CHUNK, rows - done), 0, graph.experts(), graph.activeExperts()));
                if (one == NO_FIT) {
                    return OptionalDouble.empty();
                }
                total += one;
            }
            return secondsOf(chip, total);
        }
        BatchShape shape = op.batchShape();
        if (shape == null || shape.rows() != rows) {
            return OptionalDouble.empty();
        }
        int maxPositions = Math.toIntExact(Math.max(op.kvBytes() / perToken,
                shape.runs().stream().mapToInt(Run::positions).max().orElse(1)));
        List<List<Run>> programs = new ArrayList<>();
        if (op.phase() == Phase.DECODE) {
            // A contiguous cache per sequence runs one sequence's row per program; several are a paged pool's step.
            if (!shape.paged() && (shape.runs().size() != 1 || rows != 1)) {
                return OptionalDouble.empty();
            }
            programs.add(shape.runs());
        } else {
            for (Run run : shape.runs()) {
                for (int done = 0; done < run.rows(); done += ModelGraph.PREFILL_CHUNK) {
                    programs.add(List.of(new Run(run.pos0() + done, Math.min(ModelGraph.PREFILL_CHUNK, run.rows() - done))));
                }
            }
        }
        long total = 0;
        for (List<Run> runs : programs) {
            long one = cyclesOf(new Key(chip, c, format, router, tensorParallel, OpKind.ATTENTION, shape.kvBlockSize(), runs,
                    runs.stream().mapToInt(Run::rows).sum(), maxPositions, 1, 1));
            if (one == NO_FIT) {
                return OptionalDouble.empty();
            }
            total += one;
        }
        return secondsOf(chip, total);
    }

    private static OptionalDouble secondsOf(ChipConfig chip, long cycles) {
        return cycles == NO_FIT ? OptionalDouble.empty() : OptionalDouble.of(cycles / chip.clockHz());
    }

    /** The graph's format where the widths are whole blocks of it; toy widths run as f16, as the graph sizes them. */
    private static WeightFormat formatOf(ModelGraph graph) {
        LlamaConfig c = graph.config();
        int block = graph.format().blockSize();
        return c.dim() % block == 0 && c.hiddenDim() % block == 0 ? graph.format() : WeightFormat.F16;
    }

    /** The same for a mixture's routers (rows of dim). */
    private static WeightFormat routerFormatOf(ModelGraph graph) {
        return graph.config().dim() % graph.routerFormat().blockSize() == 0 ? graph.routerFormat() : WeightFormat.F16;
    }

    private long cyclesOf(Key k) {
        return cycles.computeIfAbsent(k, LpuOpCostProvider::lower);
    }

    /** Cycles of one block program on a fresh stage filled in {@link StageLayout}'s order, or NO_FIT. */
    private static long lower(Key k) {
        int maxBatch = Math.max(k.batch(), ModelGraph.PREFILL_CHUNK);
        boolean attention = k.kind() == OpKind.ATTENTION;
        // A paged pool gives each run blocks of its own (which blocks does not change the cycles), so it holds at least those.
        int bs = k.kvBlockSize();
        int[][] tables = new int[k.runs().size()][];
        int blocks = 0;
        for (int i = 0; i < tables.length && bs > 0; i++) {
            tables[i] = new int[(k.runs().get(i).positions() + bs - 1) / bs];
            for (int b = 0; b < tables[i].length; b++) {
                tables[i][b] = blocks++;
            }
        }
        int cachePositions = Math.max(1, Math.max(k.maxPositions(), blocks * bs));
        try {
            StageLayout.Filled stage = StageLayout.open(k.chip(), k.tp(), k.config().dim());
            if (!attention) {
                BlockPlacement p = stage.memory.placeBlock(ffnPlacer(k.chip(), k.config(), k.format(), k.routerFormat(), k.experts(),
                        k.activeExperts(), maxBatch));
                return (k.experts() == 1
                        ? FfnBlockLowering.lower(k.chip(), k.config(), p, stage.x, k.batch())
                        : MoeFfnBlockLowering.lower(k.chip(), k.config(), MoeFfnBlockLowering.mixtureOf(k.config(), k.experts(),
                                k.activeExperts()), p, stage.x, k.batch())).cycles();
            }
            BlockPlacement p = stage.memory.placeBlock((a, ids) -> AttentionBlockLowering.place(k.chip(), a, ids, k.config(),
                    formats(k.format(), 4), cachePositions, maxBatch));
            if (bs == 0) {
                Run run = k.runs().getFirst();
                return AttentionBlockLowering.lower(k.chip(), k.config(), p, stage.x, run.pos0(), run.rows()).cycles();
            }
            List<AttentionBlockLowering.Run> runs = new ArrayList<>();
            for (int i = 0; i < tables.length; i++) {
                runs.add(new AttentionBlockLowering.Run(tables[i], k.runs().get(i).pos0(), k.runs().get(i).rows()));
            }
            return AttentionBlockLowering.lower(k.chip(), k.config(), p, stage.x, runs, bs).cycles();
        } catch (DeviceMemoryException e) {
            return NO_FIT;
        }
    }

    // ---------------------------------------------------------------- embedding and head

    /** What fixes an embed or head program's cycles: the table's shape and format, how it is placed, the tokens. */
    private record TableKey(ChipConfig chip, int vocab, int dim, float eps, WeightFormat format, int tp, boolean tied,
                            OpKind kind, int tokens) {}

    private final Map<TableKey, Long> tableCycles = new ConcurrentHashMap<>();

    private OptionalDouble tableOp(ChipConfig chip, ModelGraph graph, Op op, int tp) {
        LlamaConfig c = graph.config();
        WeightFormat format = graph.format();
        // A table whose width is not whole blocks of the graph's format cannot be in it: the graph does not say which it is in.
        // Tables stored in another format than the layers are left to the roofline (the lowering below places one format).
        if (c.dim() % format.blockSize() != 0 || op.activationBytes() <= 0
                || graph.embeddingFormat() != format || graph.outputFormat() != format) {
            return OptionalDouble.empty();
        }
        long total = 0;
        if (op.kind() == OpKind.EMBED) {
            long rowBytes = 2L * c.dim();
            if (op.activationBytes() % rowBytes != 0) {
                return OptionalDouble.empty();
            }
            int tokens = Math.toIntExact(op.activationBytes() / rowBytes);
            if (op.phase() == Phase.DECODE && tokens != 1) {
                return OptionalDouble.empty();
            }
            for (int done = 0; done < tokens; done += ModelGraph.PREFILL_CHUNK) {
                long one = tableCyclesOf(new TableKey(chip, c.vocabSize(), c.dim(), c.rmsEps(), format, tp, graph.tiedOutput(),
                        OpKind.EMBED, Math.min(ModelGraph.PREFILL_CHUNK, tokens - done)));
                if (one == NO_FIT) {
                    return OptionalDouble.empty();
                }
                total += one;
            }
        } else {
            // One head per sequence: the executor's head reads the last row of one prompt.
            if (op.activationBytes() != 4L * c.vocabSize()) {
                return OptionalDouble.empty();
            }
            total = tableCyclesOf(new TableKey(chip, c.vocabSize(), c.dim(), c.rmsEps(), format, tp, graph.tiedOutput(), OpKind.HEAD, 1));
            if (total == NO_FIT) {
                return OptionalDouble.empty();
            }
        }
        return OptionalDouble.of(total / chip.clockHz());
    }

    private long tableCyclesOf(TableKey k) {
        return tableCycles.computeIfAbsent(k, LpuOpCostProvider::lowerTable);
    }

    /** Where each piece is, without its SRAM offset (which no program's cycles depend on). */
    private static List<List<Integer>> layout(List<OpPrograms.Piece> pieces) {
        return pieces.stream().map(p -> List.of(p.chip(), p.rowStart(), p.rows())).toList();
    }

    /**
     * Cycles of the embed program for k.tokens tokens, or of the head's copy, rmsnorm and matmul,
     * on fresh chips filled as PlanForward fills an LPU stage; NO_FIT where the device would run
     * out of room, and also where the cycles depend on what the provider cannot know:
     * <ul>
     *   <li>an embedding table split over several chips (a token's cost depends on which chip holds
     *       its row, and the op does not say which tokens);</li>
     *   <li>an untied output table whose pieces differ between the stage that also holds the
     *       embedding (one pipeline stage) and a stage of its own (the last of several): the op does
     *       not say how many stages the group has.</li>
     * </ul>
     */
    private static long lowerTable(TableKey k) {
        try {
            StageLayout.Filled stage = StageLayout.open(k.chip(), k.tp(), k.dim());
            stage.placeEmbedding(k.format(), k.vocab(), k.dim());
            List<Allocation> scratch = new ArrayList<>();
            if (k.kind() == OpKind.EMBED) {
                if (stage.embedding.pieces().stream().mapToInt(OpPrograms.Piece::chip).distinct().count() != 1) {
                    return NO_FIT;
                }
                return OpPrograms.embed(k.chip(), k.tp(), stage.embedding, new int[k.tokens()], stage.x, stage.memory.scratch(scratch)).cycles();
            }
            stage.placeHead(k.format(), k.tied(), k.vocab(), k.dim());
            if (!k.tied()) {
                StageLayout.Filled own = StageLayout.open(k.chip(), k.tp(), k.dim());
                own.placeHead(k.format(), false, k.vocab(), k.dim());
                if (!layout(own.output.pieces()).equals(layout(stage.output.pieces()))) {
                    return NO_FIT;
                }
            }
            return OpPrograms.copy(k.chip(), k.tp(), stage.x, 0, stage.last, 0, k.dim()).cycles()
                    + OpPrograms.rmsnorm(k.chip(), k.tp(), stage.last, stage.last, stage.finalNorm, k.dim(), 1, k.eps()).cycles()
                    + stage.headMatmul(k.chip(), k.tp()).cycles();
        } catch (DeviceMemoryException e) {
            return NO_FIT;
        }
    }

    // ---------------------------------------------------------------- what a step pays beyond its ops

    @Override
    public OptionalDouble stageHopSeconds(DeviceGroup group, ModelGraph graph, int rows, int fromStage, int toStage, int tp) {
        ChipConfig chip = chipOf(group);
        if (chip == null || rows < 1) {
            return OptionalDouble.empty();
        }
        // Stages in placement order: stage s starts at chip s * tp, which fixes the hops between them.
        int hops = chip.hops(fromStage * tp, toStage * tp);
        long bytes = 4L * rows * graph.config().dim();
        Allocation from = new Allocation(0, "x", 0, bytes, 0, Allocation.FOREVER);
        Allocation to = new Allocation(0, "x", 0, bytes, 0, Allocation.FOREVER);
        return OptionalDouble.of(LpuLlama.hop(chip, from, to, graph.config().dim() * rows, hops).cycles() / chip.clockHz());
    }

    @Override
    public OptionalDouble hostRoundTripSeconds(DeviceGroup group, ModelGraph graph) {
        ChipConfig chip = chipOf(group);
        return chip == null ? OptionalDouble.empty() : OptionalDouble.of(chip.hostRoundTripCycles(graph.config().vocabSize()) / chip.clockHz());
    }

    /** The stage's share placed as the executor uploads it onto an LpuDevice of tp fixed chips (see {@link StageLayout}). */
    @Override
    public Optional<Boolean> stageHolds(DeviceGroup group, ModelGraph graph, StageShare share, int tp) {
        ChipConfig chip = chipOf(group);
        if (chip == null) {
            return Optional.empty();
        }
        LlamaConfig c = graph.config();
        WeightFormat format = formatOf(graph);
        try {
            StageLayout.Filled stage = StageLayout.open(chip, tp, c.dim());
            if (share.embedding()) {
                stage.placeEmbedding(graph.embeddingFormat(), c.vocabSize(), c.dim());
            }
            if (share.head()) {
                stage.placeHead(graph.outputFormat(), graph.tiedOutput() && share.embedding(), c.vocabSize(), c.dim());
            }
            int positions = Math.max(1, share.maxPositions());
            for (int b = 0; b < Math.max(share.attentionBlocks(), share.ffnBlocks()); b++) {
                if (b < share.attentionBlocks()) {
                    stage.memory.placeBlock((a, ids) -> AttentionBlockLowering.place(chip, a, ids, c, formats(format, 4), positions, share.rows()));
                }
                if (b < share.ffnBlocks()) {
                    placeFfn(stage, chip, graph, format, routerFormatOf(graph), share.rows());
                }
            }
            return Optional.of(true);
        } catch (DeviceMemoryException e) {
            return Optional.of(false);
        }
    }

    /** A layer's FFN as the device places it: one block, or a mixture's MoE block with every expert and the router. */
    private static void placeFfn(StageLayout.Filled stage, ChipConfig chip, ModelGraph graph, WeightFormat format,
                                 WeightFormat router, int rows) {
        stage.memory.placeBlock(ffnPlacer(chip, graph.config(), format, router, graph.experts(), graph.activeExperts(), rows));
    }

    /**
     * A dense FFN block, or a mixture's with its router in router's format and its experts (a shared
     * one too) in format; a shared expert's gate row is taken to be F32, as GGUF files store it.
     */
    private static ChipMemory.BlockPlacer ffnPlacer(ChipConfig chip, LlamaConfig c, WeightFormat format, WeightFormat router,
                                                     int experts, int active, int rows) {
        if (experts == 1) {
            return (a, ids) -> FfnBlockLowering.place(chip, a, ids, c, formats(format, 3), rows);
        }
        MoeConfig moe = MoeFfnBlockLowering.mixtureOf(c, experts, active);
        return (a, ids) -> MoeFfnBlockLowering.place(chip, a, ids, c, moe, MoeFfnBlockLowering.formats(moe, router, format));
    }

    /** The pool entry's chip with its overrides, or null for a group that is no emulated LPU. */
    private static ChipConfig chipOf(DeviceGroup group) {
        if (group.source() != DeviceSource.EMULATED_LPU) {
            return null;
        }
        try {
            return LpuOptions.ofPreset(group.name(), group.options());
        } catch (TandemException e) {
            return null;
        }
    }

    private static WeightFormat[] formats(WeightFormat f, int n) {
        WeightFormat[] all = new WeightFormat[n];
        Arrays.fill(all, f);
        return all;
    }
}
