package dev.tandem.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import org.junit.jupiter.api.Test;

/**
 * {@link Vec#f16ToFloat} against {@link Float#float16ToFloat} for all 65536 halves, in every part of
 * the vector (each JVM's species: 512, 256 and 128 bits): the same bits for every number (zeros,
 * subnormals, normals, infinities), and a NaN with the half's sign and payload for every NaN.
 */
class HalfConversionTest {
    @Test
    void everyHalfConvertsAsFloatFloat16ToFloat() {
        if (!Vec.ENABLED) {
            return; // the scalar JVM has no vector species to convert with; its F16 path is Float.float16ToFloat itself
        }
        int n = Vec.S.length();
        short[] halves = new short[n];
        float[] got = new float[Vec.FL];
        for (int first = 0; first < 65536; first += n) {
            for (int i = 0; i < n; i++) {
                halves[i] = (short) (first + i);
            }
            ShortVector v = ShortVector.fromArray(Vec.S, halves, 0);
            for (int part = 0; part < Vec.S_PARTS; part++) {
                FloatVector f = Vec.f16ToFloat(v, part);
                f.intoArray(got, 0);
                for (int l = 0; l < Vec.FL; l++) {
                    short h = halves[part * Vec.FL + l];
                    float want = Float.float16ToFloat(h);
                    String where = String.format("half 0x%04x", h & 0xffff);
                    if (Float.isNaN(want)) {
                        int spec = (h & 0x8000) << 16 | 0x7f80_0000 | (h & 0x3ff) << 13;
                        assertEquals(spec, Float.floatToRawIntBits(got[l]), where + ": NaN keeps sign and payload");
                        assertTrue(Float.isNaN(got[l]), where);
                    } else {
                        assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(got[l]), where);
                    }
                }
            }
        }
    }
}
