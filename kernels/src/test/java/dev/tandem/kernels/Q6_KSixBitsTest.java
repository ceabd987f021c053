package dev.tandem.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Q6_K's six-bit copy ({@link Q6_KSixBits}): the packing puts each weight where the class comment says
 * (read back here by plain bit arithmetic, one weight at a time), and unpacking gives back every
 * weight of [-32, 31], at an offset in both arrays. The kernel on the copy is checked against the
 * scalar row dot by PairedRowsTest, KQuantDotTest and the other Q6_K tests in the 512-bit JVM.
 */
class Q6_KSixBitsTest {
    private static final int QK = 256;

    @Test
    void eachWeightSitsInItsNibbleAndHighBitPair() {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        byte[] lanes = randomWeights(rnd, 3, QK);
        byte[] q = new byte[5 + 192];
        Q6_KSixBits.pack(lanes, 3, q, 5);
        for (int v = 0; v < 8; v++) { // V_v = lanes[32v..32v+32): W_(v/2), byte 2i + v%2
            for (int i = 0; i < 32; i++) {
                int k = v / 2, b = 2 * i + v % 2;
                int low = (q[5 + 64 * (k / 2) + b] >> (4 * (k % 2))) & 0x0F;
                int high = (q[5 + 128 + b] >> (2 * k)) & 3;
                assertEquals(lanes[3 + 32 * v + i], (low | high << 4) - 32, "V_" + v + " lane " + i + " seed " + seed);
            }
        }
    }

    @Test
    void unpackGivesBackEveryWeight() {
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        for (int round = 0; round < 50; round++) {
            byte[] lanes = randomWeights(rnd, 7, QK);
            if (round == 0) { // the extremes in every lane
                for (int i = 0; i < QK; i++) {
                    lanes[7 + i] = (byte) (i % 2 == 0 ? -32 : 31);
                }
            }
            byte[] q = new byte[11 + 192];
            Q6_KSixBits.pack(lanes, 7, q, 11);
            byte[] back = new byte[2 + QK];
            Q6_KSixBits.unpack(q, 11, back, 2);
            assertArrayEquals(java.util.Arrays.copyOfRange(lanes, 7, 7 + QK), java.util.Arrays.copyOfRange(back, 2, 2 + QK),
                    "round " + round + " seed " + seed);
        }
    }

    private static byte[] randomWeights(Random rnd, int from, int n) {
        byte[] b = new byte[from + n];
        for (int i = 0; i < n; i++) {
            b[from + i] = (byte) (rnd.nextInt(64) - 32);
        }
        return b;
    }
}
