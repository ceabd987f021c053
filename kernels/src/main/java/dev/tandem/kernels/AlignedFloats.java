package dev.tandem.kernels;

/**
 * Where in a heap float[] the 64-byte cache lines start, for the scratch arrays whose elements the
 * token-tiled kernels load a whole 512-bit vector at a time.
 *
 * <p><b>Why.</b> A 64-byte load that straddles two cache lines takes two of the core's load slots.
 * HotSpot places objects on 8-byte boundaries and an array's elements 16 bytes into the object (the
 * header, with compressed class pointers: the default), so from a fresh float[] most vector loads
 * straddled, at whatever offset the allocation happened to land. With the packed activations and
 * block scales on line boundaries {@link IntGemm}'s kernel alone ran 1.3x as fast on one Zen 5 core
 * and TinyLlama Q4_0's prefill 1.18x end to end (docs/benchmarks.md, "Aligned prefill scratch").
 *
 * <p><b>How.</b> Java gives no array's address, but the JVM can be told to align every object to 64
 * bytes ({@code -XX:ObjectAlignmentInBytes=64}, which ./tandem passes together with
 * {@code -Dtandem.objectAlignment=64}, see {@link KernelConfig}); then element {@link #FIRST} of every
 * float[] sits on a line boundary. Without the property nothing is known and {@link #FIRST} is 0: the
 * arrays are laid out as before. Only speed depends on this; no kernel's result does (the tests run
 * both layouts).
 */
final class AlignedFloats {
    private AlignedFloats() {}

    /** Bytes from an array object's start to its first element (HotSpot, compressed class pointers). */
    static final int ARRAY_HEADER_BYTES = 16;
    static final int LINE_BYTES = 64;

    /** The first element of any float[] that starts a cache line, where that is known; else 0. */
    static final int FIRST = first(KernelConfig.objectAlignment());

    /** {@link #FIRST} where the JVM aligns objects to objectAlignment bytes. */
    static int first(int objectAlignment) {
        return objectAlignment % LINE_BYTES == 0 ? (LINE_BYTES - ARRAY_HEADER_BYTES) / Float.BYTES : 0;
    }

    /** A float[] of n elements from index {@link #FIRST} (the elements before it are unused). */
    static float[] allocate(int n) {
        return new float[Math.addExact(FIRST, n)];
    }
}
