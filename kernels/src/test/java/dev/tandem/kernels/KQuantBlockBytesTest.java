package dev.tandem.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every K-quant's super-block read from a heap copy of its bytes (what the cold-start twin,
 * {@link KQuantTwin}, reads) against the same block read from the mapping: scales, mins, each
 * quant and D and M, on arbitrary bytes (all bits set, none, random; every f16 pattern, NaNs
 * compared by bits), at an offset inside the copy as a row's later blocks are.
 */
class KQuantBlockBytesTest {
    @ParameterizedTest
    @EnumSource(value = WeightFormat.class, names = {"Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"})
    void heapCopyReadsAsTheMapping(WeightFormat format) {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        int blockBytes = format.blockBytes(), blocks = 3;
        MemorySegment seg = Arena.ofAuto().allocate((long) blocks * blockBytes);
        KQuantMatrix w = (KQuantMatrix) WeightMatrix.of(format, seg, 1, blocks * 256);
        int[] sc = new int[16], m = new int[16], sc2 = new int[16], m2 = new int[16], q = new int[256], want = new int[256];
        for (int trial = 0; trial < 60; trial++) {
            int fill = trial % 3 == 0 ? 0xFF : trial % 3 == 1 ? 0 : -1;
            for (long i = 0; i < seg.byteSize(); i++) {
                seg.set(ValueLayout.JAVA_BYTE, i, (byte) (fill < 0 ? rnd.nextInt() : fill));
            }
            byte[] copy = seg.toArray(ValueLayout.JAVA_BYTE);
            String at = format + " trial " + trial + " seed " + seed;
            for (int blk = 0; blk < blocks; blk++) {
                long o = (long) blk * blockBytes;
                int from = blk * blockBytes;
                java.util.Arrays.fill(m, 0);
                java.util.Arrays.fill(m2, 0);
                w.scales(o, sc, m);
                w.scales(copy, from, sc2, m2);
                assertArrayEquals(sc, sc2, "scales, block " + blk + ", " + at);
                assertArrayEquals(m, m2, "mins, block " + blk + ", " + at);
                for (int e = 0; e < 256; e++) {
                    want[e] = w.quant(o, e);
                }
                w.quants(copy, from, q);
                assertArrayEquals(want, q, "quants, block " + blk + ", " + at);
                assertEquals(Float.floatToRawIntBits(w.superScale(o)), Float.floatToRawIntBits(w.superScale(copy, from)),
                        "D, block " + blk + ", " + at);
                if (w.hasMins()) {
                    assertEquals(Float.floatToRawIntBits(w.superMin(o)), Float.floatToRawIntBits(w.superMin(copy, from)),
                            "M, block " + blk + ", " + at);
                }
            }
        }
    }
}
