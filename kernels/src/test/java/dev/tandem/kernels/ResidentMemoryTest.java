package dev.tandem.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link ResidentMemory} (native copies of mapped weights within a budget) and F16's and BF16's
 * batch-1 dots on their copies: the copy holds the same bytes, 64-byte aligned, and is counted against the budget; the
 * budget property is parsed, a bad value falling back to auto; every BF16 row dot has the same bits
 * from the copy as from the mapping, and the copy is made once; and every F16 row dot, halves of every class
 * (subnormal, infinite, NaN, both zeros) included, has the same bits read from the copy as from the
 * mapping, on odd offsets and column counts with a scalar tail. (F16's plain dotScalar sums in
 * another order and may differ in the last bit, so it is not the reference here.)
 */
class ResidentMemoryTest {
    @Test
    void copiesTheBytesAlignedAndCountsThem() {
        Random rnd = new Random(7);
        MemorySegment src = Arena.ofAuto().allocate(1000 + 3).asSlice(3); // an odd source offset
        for (long i = 0; i < src.byteSize(); i++) {
            src.set(ValueLayout.JAVA_BYTE, i, (byte) rnd.nextInt());
        }
        long before = ResidentMemory.used();
        MemorySegment copy = ResidentMemory.copyOf(src);
        if (ResidentMemory.budget() < before + src.byteSize()) {
            return; // no budget here (not Linux, or tandem.residentBytes=0): nothing to copy into
        }
        assertNotNull(copy);
        assertEquals(-1L, copy.mismatch(src), "the copy holds the same bytes");
        assertEquals(0, copy.address() % 64, "64-byte aligned");
        assertTrue(ResidentMemory.used() >= before + src.byteSize(), "counted against the budget");
    }

    @Test
    void reservesUpToTheBudgetAndNoFurther() {
        java.util.concurrent.atomic.AtomicLong used = new java.util.concurrent.atomic.AtomicLong();
        assertTrue(ResidentMemory.reserve(600, 1000, used));
        assertTrue(ResidentMemory.reserve(400, 1000, used), "exactly the budget");
        assertEquals(false, ResidentMemory.reserve(1, 1000, used), "one byte past it");
        assertEquals(1000, used.get(), "a refused reservation adds nothing");
        assertEquals(false, ResidentMemory.reserve(1, 0, new java.util.concurrent.atomic.AtomicLong()), "budget 0: no copies");
    }

    @Test
    void readsTheBudgetPropertyAndFallsBackToAutoOnBadValues() {
        assertEquals(1000L, ResidentMemory.readBudget(null, 4000), "unset: a quarter of the memory");
        assertEquals(1000L, ResidentMemory.readBudget(" auto ", 4000));
        assertEquals(12345L, ResidentMemory.readBudget("12345", 4000));
        assertEquals(0L, ResidentMemory.readBudget("0", 4000), "0: no copies");
        assertEquals(1000L, ResidentMemory.readBudget("lots", 4000), "not a number: auto, with a warning");
        assertEquals(1000L, ResidentMemory.readBudget("-5", 4000), "negative: auto, with a warning");
    }

    @Test
    void f16DotsOnTheCopyEqualTheMappingBitForBit() {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        short[] specials = {0x0000, (short) 0x8000, 0x0001, (short) 0x83FF, 0x7C00, (short) 0xFC00, 0x7E00, 0x7BFF, 0x3C00};
        for (int cols : new int[] {7, 33, 64, 250, 2051}) {
            int rows = 5;
            MemorySegment seg = Arena.ofAuto().allocate((long) rows * cols * 2 + 1).asSlice(1);
            for (long i = 0; i < (long) rows * cols; i++) {
                short h = rnd.nextInt(8) == 0 ? specials[rnd.nextInt(specials.length)] : (short) rnd.nextInt();
                seg.set(Vec.SHORT_LE, 2 * i, h);
            }
            F16Matrix m = (F16Matrix) WeightMatrix.of(WeightFormat.F16, seg, rows, cols);
            float[] x = Encoded.gaussian(rnd, cols);
            float[] out = new float[rows];
            m.matvec(x, 0, out, 0); // builds the copy where the budget allows
            for (int r = 0; r < rows; r++) {
                if (Vec.ENABLED) { // the scalar JVM's matvec never runs the one-pass dot
                    // floatToIntBits: a NaN's payload may differ where the cold scalar twin served the matvec
                    assertEquals(Float.floatToIntBits(m.dotFromMapping(r, x, 0)), Float.floatToIntBits(out[r]),
                            "F16 " + rows + "x" + cols + " row " + r + " seed " + seed);
                }
            }
        }
    }

    @Test
    void bf16DotsOnTheCopyEqualTheMappingBitForBit() {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        short[] specials = {0x0000, (short) 0x8000, 0x0001, 0x7F80, (short) 0xFF80, 0x7FC0, 0x3F80};
        for (int cols : new int[] {7, 33, 64, 250, 2051}) {
            int rows = 7; // a 4-row pass and 3 single rows
            MemorySegment seg = Arena.ofAuto().allocate((long) rows * cols * 2 + 1).asSlice(1);
            for (long i = 0; i < (long) rows * cols; i++) {
                short h = rnd.nextInt(8) == 0 ? specials[rnd.nextInt(specials.length)] : (short) rnd.nextInt();
                seg.set(Vec.SHORT_LE, 2 * i, h);
            }
            BF16Matrix m = (BF16Matrix) WeightMatrix.of(WeightFormat.BF16, seg, rows, cols);
            float[] x = Encoded.gaussian(rnd, cols);
            float[] out = new float[rows];
            long before = ResidentMemory.used();
            m.matvec(x, 0, out, 0); // builds the copy where the budget allows
            m.matvec(x, 0, out, 0); // and reuses it
            if (Vec.ENABLED && KernelConfig.bf16Resident() && ResidentMemory.budget() >= before + seg.byteSize()) {
                assertEquals(before + seg.byteSize(), ResidentMemory.used(), "one copy of the matrix, made once");
            }
            for (int r = 0; r < rows; r++) {
                if (Vec.ENABLED) {
                    assertEquals(Float.floatToIntBits(m.dotFromMapping(r, x, 0)), Float.floatToIntBits(out[r]),
                            "BF16 " + rows + "x" + cols + " row " + r + " seed " + seed);
                    assertEquals(Float.floatToIntBits(m.dotFromMapping(r, x, 0)), Float.floatToIntBits(m.dot(r, x, 0)),
                            "BF16 dot, row " + r + " seed " + seed);
                }
            }
        }
    }
}
