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
    Q4_0(32, 18);

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

    /** Bytes that {@code elements} values occupy; {@code elements} must be a multiple of the block size. */
    public long bytesFor(long elements) {
        if (elements % blockSize != 0) {
            throw new IllegalArgumentException(name() + " needs a multiple of " + blockSize + " elements, got " + elements);
        }
        return elements / blockSize * blockBytes;
    }
}
