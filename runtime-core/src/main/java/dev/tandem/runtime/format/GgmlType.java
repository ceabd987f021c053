package dev.tandem.runtime.format;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.error.ModelFormatException;
import dev.tandem.runtime.error.SafeText;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * ggml tensor element types, by the id GGUF stores. Block size and bytes per block follow ggml's
 * type traits, so a reader can size and skip any tensor even when Tandem cannot compute with it.
 * Ids that ggml has retired (4, 5, 31-33, 36-38: removed Q4_2/Q4_3 and repacked layouts) are absent on
 * purpose: their layouts are not defined any more, so they read as unknown.
 */
public enum GgmlType {
    F32(0, 1, 4, WeightFormat.F32),
    F16(1, 1, 2, WeightFormat.F16),
    Q4_0(2, 32, 18, WeightFormat.Q4_0),
    Q4_1(3, 32, 20, null),
    Q5_0(6, 32, 22, null),
    Q5_1(7, 32, 24, null),
    Q8_0(8, 32, 34, WeightFormat.Q8_0),
    Q8_1(9, 32, 36, null),
    Q2_K(10, 256, 84, WeightFormat.Q2_K),
    Q3_K(11, 256, 110, WeightFormat.Q3_K),
    Q4_K(12, 256, 144, WeightFormat.Q4_K),
    Q5_K(13, 256, 176, WeightFormat.Q5_K),
    Q6_K(14, 256, 210, WeightFormat.Q6_K),
    Q8_K(15, 256, 292, null),
    IQ2_XXS(16, 256, 66, null),
    IQ2_XS(17, 256, 74, null),
    IQ3_XXS(18, 256, 98, null),
    IQ1_S(19, 256, 50, null),
    IQ4_NL(20, 32, 18, null),
    IQ3_S(21, 256, 110, null),
    IQ2_S(22, 256, 82, null),
    IQ4_XS(23, 256, 136, null),
    I8(24, 1, 1, null),
    I16(25, 1, 2, null),
    I32(26, 1, 4, null),
    I64(27, 1, 8, null),
    F64(28, 1, 8, null),
    IQ1_M(29, 256, 56, null),
    BF16(30, 1, 2, WeightFormat.BF16),
    TQ1_0(34, 256, 54, null),
    TQ2_0(35, 256, 66, null),
    MXFP4(39, 32, 17, null);

    private static final GgmlType[] BY_ID = new GgmlType[64];

    static {
        for (GgmlType t : values()) {
            BY_ID[t.id] = t;
        }
    }

    private final int id;
    private final int blockSize;
    private final int blockBytes;
    private final WeightFormat weightFormat;

    GgmlType(int id, int blockSize, int blockBytes, WeightFormat weightFormat) {
        this.id = id;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
        this.weightFormat = weightFormat;
    }

    /** The id GGUF stores for this type. */
    public int id() { return id; }

    /** Elements per block (1 for plain numbers). */
    public int blockSize() { return blockSize; }

    /** Bytes per block. */
    public int blockBytes() { return blockBytes; }

    /** The kernels' format for this type, or null when Tandem cannot compute with it. */
    public WeightFormat weightFormat() { return weightFormat; }

    /** True when {@link #weightFormat()} is not null. */
    public boolean isSupported() { return weightFormat != null; }

    /** The type with this id, or null when ggml defines none (or no longer defines it). */
    public static GgmlType byIdOrNull(long id) {
        return id >= 0 && id < BY_ID.length ? BY_ID[(int) id] : null;
    }

    /** The type with this id; an unknown id is a format error that names the tensor. */
    public static GgmlType byId(long id, Path file, long offset, String tensorName) {
        GgmlType type = byIdOrNull(id);
        if (type == null) {
            throw new ModelFormatException(file, offset, "unknown tensor type " + id + " for tensor " + SafeText.quote(tensorName));
        }
        return type;
    }

    /** This type's weight format; a type Tandem cannot compute with is a format error naming the tensor. */
    public WeightFormat requireWeightFormat(Path file, String tensorName) {
        if (weightFormat == null) {
            throw new ModelFormatException(file, "tensor " + SafeText.quote(tensorName) + " has type " + name()
                    + ", which Tandem does not support (supported: " + supportedNames() + ")");
        }
        return weightFormat;
    }

    /** "F32, F16, BF16, Q8_0, Q4_0, Q2_K, ...": the types Tandem computes with, for error messages. */
    public static String supportedNames() {
        return Arrays.stream(WeightFormat.values()).map(GgmlType::of)
                .map(Enum::name).collect(Collectors.joining(", "));
    }

    /** The GGUF type matching a kernels format. */
    public static GgmlType of(WeightFormat format) {
        return switch (format) {
            case F32 -> F32;
            case F16 -> F16;
            case BF16 -> BF16;
            case Q8_0 -> Q8_0;
            case Q4_0 -> Q4_0;
            case Q2_K -> Q2_K;
            case Q3_K -> Q3_K;
            case Q4_K -> Q4_K;
            case Q5_K -> Q5_K;
            case Q6_K -> Q6_K;
        };
    }

    /**
     * Bytes of a tensor of {@code elementsPerRow * rows} elements, or -1 when a row is not a whole
     * number of blocks or the size overflows a long.
     */
    public long bytesFor(long elementsPerRow, long rows) {
        if (elementsPerRow % blockSize != 0) {
            return -1;
        }
        try {
            return Math.multiplyExact(Math.multiplyExact(elementsPerRow / blockSize, (long) blockBytes), rows);
        } catch (ArithmeticException overflow) {
            return -1;
        }
    }
}
