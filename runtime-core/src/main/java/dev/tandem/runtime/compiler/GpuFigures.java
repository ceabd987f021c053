package dev.tandem.runtime.compiler;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * One catalog GPU: datasheet peaks (dense, no sparsity) and the fractions of them that published
 * microbenchmarks achieve. Every figure of a catalog GPU lives here ({@link #ALL}); the {@link Catalog}
 * builds its device specs from them and the {@link GpuServingModel} prices batched serving with them.
 *
 * @param name            the pool name
 * @param title           what plans print
 * @param memoryBytes     HBM capacity
 * @param bandwidth       HBM bytes/s, datasheet
 * @param bf16Flops       dense BF16 tensor FLOP/s
 * @param fp8Flops        dense FP8 tensor FLOP/s (Hopper's INT8 rate is the same)
 * @param fp4Flops        dense NVFP4 tensor FLOP/s, 0 where the chip has no FP4 tensor cores
 * @param watts           board power
 * @param nvlinkBandwidth NVLink bytes/s per direction per GPU
 * @param achieved        what microbenchmarks reach, with sources
 */
public record GpuFigures(String name, String title, double memoryBytes, double bandwidth, double bf16Flops, double fp8Flops,
                         double fp4Flops, double watts, double nvlinkBandwidth, Achieved achieved) {

    /**
     * Achieved fractions of peak, each from a published microbenchmark (or marked as carried over
     * from a sibling chip where none was found).
     *
     * @param bandwidthFraction     sustained HBM bandwidth / datasheet bandwidth (device-to-device copy)
     * @param gemmFraction          large cuBLASLt GEMM FLOP/s / dense datasheet peak
     * @param attentionFraction     FlashAttention forward FLOP/s / dense BF16 peak (prefill attention)
     * @param allReduceBusBandwidth nccl-tests all_reduce bus bandwidth over NVLink within a node, bytes/s
     * @param sources               one line per figure: where it comes from
     */
    public record Achieved(double bandwidthFraction, double gemmFraction, double attentionFraction,
                           double allReduceBusBandwidth, List<String> sources) {
        public Achieved {
            sources = List.copyOf(sources);
        }
    }

    /** Math rates a weight format runs at. */
    public enum MathRate { F32, BF16, FP8, FP4 }

    public double peak(MathRate rate) {
        return switch (rate) {
            case F32 -> bf16Flops / 2;   // TF32 tensor cores: half the BF16 rate
            case BF16 -> bf16Flops;
            case FP8 -> fp8Flops;
            case FP4 -> fp4Flops;
        };
    }

    // Sources of the achieved fractions (full references in docs/planning.md#sources-of-the-gpu-figures).
    private static final String HBM_H100 = "HBM: 2,903 GB/s device-to-device copy on H100 SXM = 86.7% "
            + "(Voltage Park / AI@Georgia Tech H100 cluster benchmark suite, CUDA 12.6)";
    private static final String HBM_H200 = "HBM: H100's measured 86.7% carried over (no published H200 copy benchmark found)";
    private static final String HBM_B200 = "HBM: 7.35 TB/s of 8 TB/s = 92% (Azure ND GB200 v6 microbenchmarks, Microsoft Tech Community 2025)";
    private static final String HBM_RUBIN = "HBM: B200's measured 92% carried over (no Rubin measurement published)";
    private static final String GEMM_H100 = "GEMM: ~1,372 TFLOP/s FP8 cuBLASLt = 69% of 1,979 (Azure: GB200's sustained "
            + "2,744 TFLOP/s is 'double that of the H100'); BF16 assumed the same fraction";
    private static final String GEMM_B200 = "GEMM: 2,744 TFLOP/s FP8 cuBLASLt sustained of 4,856 measured peak = 56.5% "
            + "(Azure ND GB200 v6 microbenchmarks); BF16 and NVFP4 assumed the same fraction";
    private static final String GEMM_RUBIN = "GEMM: B200's 56.5% carried over (no Rubin measurement published)";
    private static final String FA3 = "attention: FlashAttention-3 forward 740 TFLOP/s BF16 = 75% of H100 "
            + "(Shah et al. 2024, arXiv:2407.08608); other chips assumed the same fraction";
    private static final String NCCL_H100 = "all-reduce: nccl-tests all_reduce bus bandwidth 479.7 GB/s, 8x H100 NVLink/NVSwitch "
            + "(Voltage Park / AI@Georgia Tech); latency and protocol framing from NCCL's ring LL/LL128/Simple tuning model (nccl src/graph/tuning.cc)";
    private static final String NCCL_B200 = "all-reduce: H100's measured bus bandwidth scaled by NVLink 5's doubled per-GPU bandwidth "
            + "(no published B200 nccl-tests figure found); latency as NCCL's ring tuning model";
    private static final String NCCL_RUBIN = "all-reduce: H100's measured bus bandwidth scaled by NVLink 6's 4x per-GPU bandwidth (assumed)";

    private static final Achieved HOPPER_H100 = new Achieved(0.867, 0.69, 0.75, 479.7e9, List.of(HBM_H100, GEMM_H100, FA3, NCCL_H100));
    private static final Achieved HOPPER_H200 = new Achieved(0.867, 0.69, 0.75, 479.7e9, List.of(HBM_H200, GEMM_H100, FA3, NCCL_H100));
    private static final Achieved BLACKWELL = new Achieved(0.92, 0.565, 0.75, 2 * 479.7e9, List.of(HBM_B200, GEMM_B200, FA3, NCCL_B200));
    private static final Achieved RUBIN = new Achieved(0.92, 0.565, 0.75, 4 * 479.7e9, List.of(HBM_RUBIN, GEMM_RUBIN, FA3, NCCL_RUBIN));

    private static final double MIB = 1 << 20;

    /**
     * Datasheet figures: NVIDIA H100 SXM, H200 SXM, DGX B200 and Vera Rubin (NVL144) product pages.
     * Capacities are what nvidia-smi reports as total memory (the datasheets' "80 GB" and "141 GB"
     * are binary-ish: 81,559 MiB, 143,771 MiB and 183,359 MiB), which is what a KV cache is sized in.
     */
    public static final List<GpuFigures> ALL = List.of(
            new GpuFigures("h100", "NVIDIA H100 SXM (catalog)", 81_559 * MIB, 3.35e12, 989e12, 1979e12, 0, 700, 450e9, HOPPER_H100),
            new GpuFigures("h200", "NVIDIA H200 SXM (catalog)", 143_771 * MIB, 4.8e12, 989e12, 1979e12, 0, 700, 450e9, HOPPER_H200),
            new GpuFigures("b200", "NVIDIA B200 (catalog)", 183_359 * MIB, 8e12, 2.25e15, 4.5e15, 9e15, 1000, 900e9, BLACKWELL),
            // Rubin's BF16 rate is not published: half the low end of the FP8 range (16.7 PF) is assumed;
            // NVFP4 is NVIDIA's announced 50 PF inference figure.
            new GpuFigures("rubin", "NVIDIA Vera Rubin (catalog; BF16 assumed FP8/2)", 288e9, 22e12, 8.35e15, 16.7e15, 50e15, 1800,
                    1.8e12, RUBIN));

    private static final Map<String, GpuFigures> BY_NAME = ALL.stream().collect(Collectors.toMap(GpuFigures::name, Function.identity()));

    /**
     * NCCL's ring protocols as its tuning model prices them over NVLink (nccl src/graph/tuning.cc):
     * base latency per collective, latency per hop, and the share of bus bandwidth the protocol's
     * framing leaves (LL sends a flag with every 8-byte word; LL128 one per 128 bytes, 120 of data).
     */
    public enum RingProtocol {
        LL(3.6e-6, 0.4e-6, 0.5), LL128(3.6e-6, 2.5e-6, 120.0 / 128), SIMPLE(8.4e-6, 5.7e-6, 1.0);

        public final double baseSeconds;
        public final double hopSeconds;
        public final double bandwidthShare;

        RingProtocol(double baseSeconds, double hopSeconds, double bandwidthShare) {
            this.baseSeconds = baseSeconds;
            this.hopSeconds = hopSeconds;
            this.bandwidthShare = bandwidthShare;
        }
    }

    public static Optional<GpuFigures> of(String name) { return Optional.ofNullable(BY_NAME.get(name)); }
}
