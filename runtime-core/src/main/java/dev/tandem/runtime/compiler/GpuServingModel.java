package dev.tandem.runtime.compiler;

import dev.tandem.runtime.model.LlamaConfig;

/**
 * Continuous-batching steady state of a dense or MoE Llama on catalog GPUs (issue 14). One
 * iteration of a replica runs its {@code B} decoding sequences one token each, plus the prefill the
 * steady state needs: every request lives OSL iterations and brings ISL prompt tokens, so an
 * iteration carries B·ISL/OSL prompt tokens of B/OSL prompts (chunked prefill, as TensorRT-LLM's
 * in-flight batching and vLLM schedule it). Output tokens/s per system is then B / iteration, the
 * way serving benchmarks count it; per user it is 1 / iteration.
 *
 * <p>Per layer and device: the linear layers cost max(weight bytes / achieved bandwidth,
 * FLOPs / achieved GEMM rate of the weight format); elementwise ops stream their activations; decode
 * attention reads each sequence's KV cache at the mean context ISL + OSL/2; prefill attention costs
 * its causal FLOPs at FlashAttention's achieved rate; tensor parallelism adds two ring all-reduces of
 * the iteration's hidden states; every kernel pays the launch overhead. The KV cache is held in pages
 * of {@link #PAGE_TOKENS} sized by the sequences' actual lengths, in the memory left after weights and
 * activations. Achieved fractions come from {@link GpuFigures}.
 */
public final class GpuServingModel {
    /** vLLM's default KV block size (tokens per page). */
    public static final int PAGE_TOKENS = 16;
    /** Share of the memory left after weights that the KV cache may take: TensorRT-LLM's default kv_cache_free_gpu_mem_fraction. */
    public static final double KV_MEMORY_FRACTION = 0.90;
    /** Tokens one iteration may carry: TensorRT-LLM's default max_num_tokens; sizes the activation workspace. */
    public static final int MAX_NUM_TOKENS = 8192;
    /** CUDA context, cuBLAS and NCCL workspaces per device: an assumption. */
    public static final double RUNTIME_RESERVED_BYTES = 2e9;
    /** Kernels per layer (attention 5, FFN 3), each paying the spec's launch overhead. */
    static final int KERNELS_PER_LAYER = 8;
    /**
     * FIT (the model's one constant fitted to an end-to-end result): weight streaming and tensor-core
     * math overlap imperfectly near the roofline's ridge, so a linear layer takes
     * (bytes-time^k + math-time^k)^(1/k) rather than the max of both (k = infinity). k was chosen so
     * that TensorRT-LLM's published Llama 3.3 70B FP8 on one H200 at ISL:OSL 1000:2000 (2,994
     * tokens/s) is matched (k = 1 would be no overlap at all); every other published point is judged
     * with it, Blackwell included.
     */
    static final double ROOFLINE_SHARPNESS = 1.05;

    /** A soft max of two times: see {@link #ROOFLINE_SHARPNESS}. */
    static double overlap(double a, double b) {
        double k = ROOFLINE_SHARPNESS;
        double m = Math.max(a, b);
        if (m == 0) {
            return 0;
        }
        return m * Math.pow(Math.pow(a / m, k) + Math.pow(b / m, k), 1 / k);
    }

    /** Batches past this are not priced (keeps sweeps bounded; no catalog GPU holds more). */
    public static final int MAX_BATCH = 1 << 16;

    private final ModelGraph graph;
    private final ServingFormat weights;
    private final ServingFormat kv;
    private final ServingFormat head;
    private final ServingWorkload workload;
    private final DeviceGroup group;
    private final GpuFigures gpu;

    /** A replica's shape: stages × tensorParallel devices; replicas of it fill the group. */
    public record Layout(int tensorParallel, int stages, int replicas) {
        public int devicesPerReplica() { return tensorParallel * stages; }
    }

    /** One iteration's seconds, and what each part of it cost. */
    record Iteration(double seconds, double weights, double kvCache, double compute, double communication) {
        String bound() {
            double max = Math.max(Math.max(weights, kvCache), Math.max(compute, communication));
            return max == weights ? "weights" : max == kvCache ? "kv cache" : max == compute ? "compute" : "communication";
        }
    }

    /**
     * @param weights weight format (FP8 and NVFP4 checkpoints keep the output head in BF16, as
     *                NVIDIA's ModelOpt checkpoints do)
     * @param kv      KV cache format
     */
    public GpuServingModel(ModelGraph graph, ServingFormat weights, ServingFormat kv, ServingWorkload workload,
                           DeviceGroup group, GpuFigures gpu) {
        if (!weights.runsOn(gpu)) {
            throw new ServingFormat.FormatException("--weights " + weights + " needs FP4 tensor cores; " + gpu.name()
                    + " has none (b200 and rubin do)");
        }
        this.graph = graph;
        this.weights = weights;
        this.kv = kv;
        this.head = weights.rate() == GpuFigures.MathRate.FP8 || weights.rate() == GpuFigures.MathRate.FP4 ? ServingFormat.BF16 : weights;
        this.workload = workload;
        this.group = group;
        this.gpu = gpu;
    }

    private LlamaConfig c() { return graph.config(); }

    private double attentionParams() { return 2.0 * c().dim() * c().dim() + 2.0 * c().kvDim() * c().dim(); }

    private double expertParams() { return 3.0 * c().hiddenDim() * c().dim(); }

    private double ffnResidentParams() {
        return graph.experts() * expertParams() + (graph.experts() > 1 ? (double) graph.experts() * c().dim() : 0);
    }

    private double tableParams() { return (double) c().vocabSize() * c().dim(); }

    /** KV bytes of one position in one layer. */
    public double kvBytesPerTokenPerLayer() { return 2.0 * c().kvDim() * kv.bytesPerValue(); }

    private int kvShards(int tp) { return Math.min(tp, c().nKvHeads()); }

    private int stageLayers(int stages) { return (c().nLayers() + stages - 1) / stages; }

    /** Weights one device of a layout holds: its stage's layers and the vocabulary tables, split tensor-parallel. */
    public double weightBytesPerDevice(Layout l) {
        double layer = (attentionParams() + ffnResidentParams()) * weights.bytesPerValue();
        double tables = tableParams() * head.bytesPerValue() * (graph.tiedOutput() ? 1 : 2);
        return (stageLayers(l.stages()) * layer + tables) / l.tensorParallel();
    }

    /** Activation workspace for an iteration of {@link #MAX_NUM_TOKENS}, plus the runtime's own. */
    public double reservedBytesPerDevice(Layout l) {
        double width = 4.0 * c().dim() + 2.0 * c().hiddenDim() / l.tensorParallel();
        return MAX_NUM_TOKENS * width * 2 + RUNTIME_RESERVED_BYTES;
    }

    /** KV bytes one running sequence holds on one device: its mean pages, at page granularity. */
    public double kvBytesPerSequencePerDevice(Layout l) {
        return workload.meanPages(PAGE_TOKENS) * PAGE_TOKENS * kvBytesPerTokenPerLayer() * stageLayers(l.stages())
                / kvShards(l.tensorParallel());
    }

    /** The most sequences a replica's KV cache holds in the steady state; 0 when the weights leave no room. */
    public int maxBatch(Layout l) {
        double free = gpu.memoryBytes() - weightBytesPerDevice(l) - reservedBytesPerDevice(l);
        if (free <= 0) {
            return 0;
        }
        return (int) Math.min(MAX_BATCH, Math.floor(free * KV_MEMORY_FRACTION / kvBytesPerSequencePerDevice(l)));
    }

    private double bandwidth() { return gpu.bandwidth() * gpu.achieved().bandwidthFraction(); }

    private double gemmRate(ServingFormat f) { return gpu.peak(f.rate()) * gpu.achieved().gemmFraction(); }

    /**
     * Ring all-reduce of {@code bytes} over n devices: 2(n−1) hops, each protocol's latency and framing
     * on the measured bus bandwidth, the fastest protocol taken (as NCCL's tuner picks it).
     */
    public double allReduceSeconds(double bytes, int n) {
        if (n <= 1) {
            return 0;
        }
        double best = Double.MAX_VALUE;
        for (GpuFigures.RingProtocol p : GpuFigures.RingProtocol.values()) {
            best = Math.min(best, p.baseSeconds + 2.0 * (n - 1) * p.hopSeconds
                    + bytes * 2.0 * (n - 1) / n / (gpu.achieved().allReduceBusBandwidth() * p.bandwidthShare));
        }
        return best;
    }

    /** Decode attention of one layer on one device: reading {@code sequences} KV caches of {@code context} positions. */
    public double decodeAttentionSeconds(double sequences, double context, int tp) {
        return sequences * context * kvBytesPerTokenPerLayer() / kvShards(tp) / bandwidth();
    }

    /**
     * One pass of a stage: {@code decodes} sequences one token each plus {@code prefillTokens} prompt
     * tokens of {@code prompts} prompts, on {@code layers} layers (and the head when {@code withHead}).
     */
    Iteration stagePass(double decodes, double prefillTokens, double prompts, int tp, int layers, boolean withHead) {
        LlamaConfig c = c();
        double tokens = decodes + prefillTokens;
        double touchedExperts = graph.expectedExpertsTouched(Math.max(1, Math.round(tokens)));
        double weightBytes = (attentionParams() + touchedExperts * expertParams()) * weights.bytesPerValue() / tp;
        double activeParams = attentionParams() + graph.activeExperts() * expertParams();
        double weightS = weightBytes / bandwidth();
        double gemmS = 2.0 * activeParams * tokens / tp / gemmRate(weights);
        // Elementwise ops (norms, residuals, RoPE, SiLU·mul) stream their BF16 inputs and outputs:
        // about 12 hidden-width values per token replicated on every device and 5 FFN-width ones split.
        double elementwiseS = tokens * (12.0 * c.dim() + 5.0 * c.hiddenDim() / tp) * 2 / bandwidth();
        double kvS = decodeAttentionSeconds(decodes, workload.meanContext(), tp);
        // Causal attention of a prompt: QK^T and PV, ISL²/2 positions × dim × 2 FLOPs each.
        double prefillAttnS = prompts * 2.0 * workload.inputTokens() * (double) workload.inputTokens() * c.dim() / tp
                / (gpu.bf16Flops() * gpu.achieved().attentionFraction());
        double commS = 2 * allReduceSeconds(tokens * c.dim() * 2.0, tp);
        double launchS = KERNELS_PER_LAYER * group.spec().launchOverheadSeconds();
        double layerS = overlap(weightS, gemmS) + elementwiseS + kvS + prefillAttnS + commS + launchS;
        double headS = 0, headBytesS = 0, headFlopsS = 0;
        if (withHead) {
            double rows = decodes + prompts;   // logits only for the last position of a prompt
            headBytesS = tableParams() * head.bytesPerValue() / tp / bandwidth();
            headFlopsS = 2.0 * tableParams() * rows / tp / gemmRate(head);
            headS = overlap(headBytesS, headFlopsS) + 2 * group.spec().launchOverheadSeconds();
        }
        return new Iteration(layers * layerS + headS, layers * weightS + headBytesS, layers * kvS,
                layers * (gemmS + prefillAttnS) + headFlopsS, layers * commS);
    }

    /** Seconds for a stage to hand its micro-batch's hidden states to the next. */
    private double stageHopSeconds(Layout l, double rows) {
        if (l.stages() == 1) {
            return 0;
        }
        boolean withinNode = l.devicesPerReplica() <= group.nodeSize();
        var link = withinNode ? group.spec().links().get(dev.tandem.runtime.device.DeviceKind.GPU) : Catalog.ETHERNET_800G;
        return CostModel.transferSeconds(link, (long) (rows * c().dim() * 2));
    }

    /** The steady state of one layout at {@code batch} sequences per replica. */
    public FrontierPoint point(Layout l, int batch) {
        int tp = l.tensorParallel(), pp = l.stages();
        double mb = (double) batch / pp;   // pipeline stages each work on one of pp micro-batches
        double isl = workload.inputTokens(), osl = workload.outputTokens();
        Iteration stage = stagePass(mb, mb * isl / osl, mb / osl, tp, stageLayers(pp), true);
        double cycle = pp * (stage.seconds() + stageHopSeconds(l, mb * (1 + isl / osl)));
        Iteration first = stagePass(Math.max(0, mb - 1), isl, 1, tp, stageLayers(pp), true);
        double ttft = pp * (first.seconds() + stageHopSeconds(l, isl));
        double watts = (double) l.replicas() * l.devicesPerReplica() * gpu.watts();
        double system = (double) l.replicas() * batch / cycle;
        return new FrontierPoint(batch, (long) batch * l.replicas(), tp, pp, l.replicas(), 1 / cycle, system, ttft * 1e3, cycle * 1e3,
                watts, watts / system, (long) (batch * kvBytesPerSequencePerDevice(l)), stage.bound(),
                "steady state (" + gpu.name() + ")");
    }
}
