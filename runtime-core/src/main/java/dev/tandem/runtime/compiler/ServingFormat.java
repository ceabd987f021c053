package dev.tandem.runtime.compiler;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.error.TandemException;
import dev.tandem.runtime.compiler.GpuFigures.MathRate;

import java.util.Locale;

/**
 * A number format as the batched GPU model prices it: bytes per stored value (block scales included)
 * and the tensor-core rate its matrix products run at. Besides the GGUF formats the engine executes,
 * it knows FP8 (E4M3 with per-tensor scales) and NVFP4 (E2M1 with an FP8 scale per 16 values), which
 * are plan-only: no kernel here runs them.
 *
 * @param name          what the CLI calls it
 * @param bytesPerValue storage per value
 * @param rate          the math rate its GEMMs run at
 */
public record ServingFormat(String name, double bytesPerValue, MathRate rate) {
    public static final ServingFormat BF16 = new ServingFormat("bf16", 2, MathRate.BF16);
    public static final ServingFormat FP8 = new ServingFormat("fp8", 1, MathRate.FP8);
    /** 4 bits per value plus one FP8 scale per 16 values. */
    public static final ServingFormat NVFP4 = new ServingFormat("nvfp4", 0.5 + 1.0 / 16, MathRate.FP4);

    /**
     * A GGUF format's size; floats run at their own rate, 8-bit integers at the INT8 (= FP8) tensor
     * rate (W8A8), and the 4-bit and K-quant formats dequantise into BF16 GEMMs (weight-only).
     */
    public static ServingFormat of(WeightFormat f) {
        double bytes = (double) f.blockBytes() / f.blockSize();
        String name = f.name().toLowerCase(Locale.ROOT);
        return switch (f) {
            case F32 -> new ServingFormat(name, bytes, MathRate.F32);
            case F16, BF16 -> new ServingFormat(name, bytes, MathRate.BF16);
            case Q8_0 -> new ServingFormat(name, bytes, MathRate.FP8);
            default -> new ServingFormat(name, bytes, MathRate.BF16);
        };
    }

    /** fp8 and nvfp4, which only plans know; empty for GGUF names. */
    public static java.util.Optional<ServingFormat> planOnly(String text) {
        return switch (text.toLowerCase(Locale.ROOT)) {
            case "fp8" -> java.util.Optional.of(FP8);
            case "nvfp4" -> java.util.Optional.of(NVFP4);
            default -> java.util.Optional.empty();
        };
    }

    /** A --kv-cache value: f16/bf16 or fp8. */
    public static ServingFormat parseKvCache(String text) {
        return switch (text.toLowerCase(Locale.ROOT)) {
            case "f16", "bf16" -> BF16;
            case "fp8" -> FP8;
            default -> throw new FormatException("--kv-cache '" + text + "' is not one of f16, bf16, fp8");
        };
    }

    /** Whether a chip has tensor cores for this format. */
    public boolean runsOn(GpuFigures gpu) { return gpu.peak(rate) > 0; }

    @Override
    public String toString() { return name; }

    /** A format flag with a value the model does not know (a usage error). */
    public static final class FormatException extends TandemException {
        public FormatException(String message) { super(message); }
    }
}
