package dev.tandem.kernels;

/**
 * Storage formats of weight matrices, laid out row by row exactly as GGUF stores them
 * (a row is {@code cols} contiguous elements, or {@code cols/32} contiguous blocks).
 */
public enum WeightFormat {
    F32(1, 4),
    F16(1, 2),
    BF16(1, 2),
    /** {f16 d; int8 q[32]}: value = q*d. */
    Q8_0(32, 34),
    /** {f16 d; uint8 qs[16]}: low nibbles are elements 0-15, high nibbles 16-31; value = (nibble-8)*d. */
    Q4_0(32, 18),
    /**
     * K-quants: super-blocks of 256 values in 16 sub-blocks with integer scales (and mins) under an
     * f16 super-scale; their dot products run in integers against {@link Q8_KActivations}.
     * {uint8 scales[16] (4-bit scale | 4-bit min); uint8 qs[64] (2-bit); f16 d; f16 dmin}:
     * value = d*scale*q - dmin*min.
     */
    Q2_K(256, 84),
    /** {uint8 hmask[32]; uint8 qs[64] (low 2 bits); uint8 scales[12] (16 six-bit); f16 d}: value = d*(scale-32)*(q-4*(1-h)). */
    Q3_K(256, 110),
    /** {f16 d; f16 dmin; uint8 scales[12] (8 six-bit scales and mins); uint8 qs[128] (4-bit)}: value = d*scale*q - dmin*min. */
    Q4_K(256, 144),
    /** Q4_K plus uint8 qh[32] (the fifth bit) before qs: 176 bytes. */
    Q5_K(256, 176),
    /** {uint8 ql[128]; uint8 qh[64]; int8 scales[16]; f16 d}: value = d*scale*(q-32), q of 6 bits. */
    Q6_K(256, 210);

    /** Elements per K-quant super-block. */
    public static final int QK_K = 256;

    private final int blockSize;
    private final int blockBytes;

    WeightFormat(int blockSize, int blockBytes) {
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    /** Elements per block (1 for plain floats). */
    public int blockSize() { return blockSize; }

    /** Bytes per block. */
    public int blockBytes() { return blockBytes; }

    /** True for the K-quants, whose dot products quantize the activations to Q8_K first. */
    public boolean isKQuant() { return blockSize == QK_K; }

    /** Bytes that {@code elements} values occupy; {@code elements} must be a multiple of the block size. */
    public long bytesFor(long elements) {
        if (elements % blockSize != 0) {
            throw new IllegalArgumentException(name() + " needs a multiple of " + blockSize + " elements, got " + elements);
        }
        return elements / blockSize * blockBytes;
    }
}
