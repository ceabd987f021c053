package dev.tandem.runtime.device;

/**
 * The shape of a paged KV cache: {@code blocks} blocks of {@code blockSize} positions each, shared by
 * every sequence of a {@link DevicePagedAttention}. A sequence holds whole blocks, listed in its block
 * table; so the pool's capacity is blocks * blockSize positions in all, however they are split.
 *
 * @param blockSize positions per block
 * @param blocks    blocks in the pool
 */
public record KvPoolSpec(int blockSize, int blocks) {
    /** vLLM's default: small enough that a sequence wastes at most 15 positions. */
    public static final int DEFAULT_BLOCK_SIZE = 16;

    public KvPoolSpec {
        if (blockSize < 1) {
            throw new IllegalArgumentException("KV block size must be >= 1 position, got " + blockSize);
        }
        if (blocks < 1) {
            throw new IllegalArgumentException("the KV pool needs at least 1 block, got " + blocks);
        }
        if ((long) blockSize * blocks > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a KV pool of " + blocks + " blocks of " + blockSize
                    + " positions exceeds " + Integer.MAX_VALUE + " positions");
        }
    }

    /** Positions the whole pool holds. */
    public int positions() { return blockSize * blocks; }

    /** Blocks a sequence of n positions needs. */
    public int blocksFor(int positions) { return (positions + blockSize - 1) / blockSize; }

    /** Cache row of position pos of the sequence whose block table is table. */
    public int slot(int[] table, int pos) { return table[pos / blockSize] * blockSize + pos % blockSize; }
}
