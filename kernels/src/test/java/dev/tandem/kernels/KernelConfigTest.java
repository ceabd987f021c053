package dev.tandem.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Random;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

class KernelConfigTest {
    private static final int PREFERRED = FloatVector.SPECIES_PREFERRED.vectorBitSize();
    private static final int CPUS = Runtime.getRuntime().availableProcessors();

    @Test
    void fourRowTilesParsing() {
        assertEquals(-1, KernelConfig.readFourRowTiles(null));
        assertEquals(-1, KernelConfig.readFourRowTiles(" auto "));
        assertEquals(1, KernelConfig.readFourRowTiles("true"));
        assertEquals(0, KernelConfig.readFourRowTiles(" false"));
        assertEquals(-1, KernelConfig.readFourRowTiles("yes"), "not a value: auto, with a warning");
        assertEquals(-1, KernelConfig.readTokenVectors(null));
        assertEquals(-1, KernelConfig.readTokenVectors(" auto"));
        assertEquals(1, KernelConfig.readTokenVectors("true "));
        assertEquals(0, KernelConfig.readTokenVectors("false"));
        assertEquals(-1, KernelConfig.readTokenVectors("on"), "not a value: auto, with a warning");
    }

    @Test
    void objectAlignmentParsing() {
        assertEquals(8, KernelConfig.readObjectAlignment(null));
        assertEquals(64, KernelConfig.readObjectAlignment(" 64 "));
        assertEquals(256, KernelConfig.readObjectAlignment("256"));
        assertEquals(8, KernelConfig.readObjectAlignment("48"), "not a power of two: 8, with a warning");
        assertEquals(8, KernelConfig.readObjectAlignment("512"), "past HotSpot's range: 8, with a warning");
        assertEquals(8, KernelConfig.readObjectAlignment("4"), "below HotSpot's range: 8, with a warning");
        assertEquals(8, KernelConfig.readObjectAlignment("sixty-four"), "not a number: 8, with a warning");
    }

    @Test
    void tokenRowsParsing() {
        assertEquals(-1, KernelConfig.readTokenRows(null));
        assertEquals(-1, KernelConfig.readTokenRows(" auto "));
        assertEquals(0, KernelConfig.readTokenRows("0"));
        assertEquals(13, KernelConfig.readTokenRows(" 13"));
        assertEquals(-1, KernelConfig.readTokenRows("many"), "not a value: auto, with a warning");
        assertEquals(-1, KernelConfig.readTokenRows("-2"), "negative: auto, with a warning");
    }

    @Test
    void tokenGemmRowsParsing() {
        assertEquals(0, KernelConfig.readTokenGemmRows(null));
        assertEquals(0, KernelConfig.readTokenGemmRows(" auto "));
        assertEquals(4, KernelConfig.readTokenGemmRows("4"));
        assertEquals(8, KernelConfig.readTokenGemmRows(" 8"));
        assertEquals(0, KernelConfig.readTokenGemmRows("6"), "not a value: auto, with a warning");
    }

    @Test
    void vectorBitsParsing() {
        assertEquals(PREFERRED, KernelConfig.readVectorBits(null));
        assertEquals(PREFERRED, KernelConfig.readVectorBits(" "));
        assertEquals(0, KernelConfig.readVectorBits("0"));
        assertEquals(128, KernelConfig.readVectorBits("128"));
        assertEquals(PREFERRED, KernelConfig.readVectorBits(String.valueOf(PREFERRED)));
        assertEquals(PREFERRED, KernelConfig.readVectorBits("96"), "not a species size");
        assertEquals(PREFERRED, KernelConfig.readVectorBits("32"), "below the smallest species");
        assertEquals(PREFERRED, KernelConfig.readVectorBits(String.valueOf(2 * PREFERRED)), "wider than the CPU");
        assertEquals(PREFERRED, KernelConfig.readVectorBits("fast"));
    }

    @Test
    void threadsParsing() {
        assertEquals(CPUS, KernelConfig.readThreads(null));
        assertEquals(3, KernelConfig.readThreads("3"));
        assertEquals(CPUS, KernelConfig.readThreads("0"));
        assertEquals(CPUS, KernelConfig.readThreads("many"));
    }

    @Test
    void coldWorkParsing() {
        assertEquals(ColdStart.DEFAULT_UNITS, KernelConfig.readColdWork(null));
        assertEquals(ColdStart.DEFAULT_UNITS, KernelConfig.readColdWork(""));
        assertEquals(0, KernelConfig.readColdWork("0"));
        assertEquals(500, KernelConfig.readColdWork(" 500 "));
        assertEquals(ColdStart.DEFAULT_UNITS, KernelConfig.readColdWork("-1"));
        assertEquals(ColdStart.DEFAULT_UNITS, KernelConfig.readColdWork("lots"));
    }

    @Test
    void readAheadParsing() {
        assertEquals(KernelConfig.DEFAULT_READ_AHEAD, KernelConfig.readReadAhead(null));
        assertEquals(KernelConfig.DEFAULT_READ_AHEAD, KernelConfig.readReadAhead(" "));
        assertEquals(0, KernelConfig.readReadAhead("0"));
        assertEquals(1024, KernelConfig.readReadAhead(" 1024 "));
        assertEquals(KernelConfig.DEFAULT_READ_AHEAD, KernelConfig.readReadAhead("-64"));
        assertEquals(KernelConfig.DEFAULT_READ_AHEAD, KernelConfig.readReadAhead("far"));
        assertEquals(KernelConfig.DEFAULT_READ_AHEAD, KernelConfig.readReadAhead(String.valueOf(1L << 40)));
    }

    @Test
    void readAheadMinBytesParsing() {
        assertEquals(KernelConfig.DEFAULT_READ_AHEAD_MIN_BYTES, KernelConfig.readReadAheadMinBytes(null));
        assertEquals(0, KernelConfig.readReadAheadMinBytes("0"));
        assertEquals(1L << 32, KernelConfig.readReadAheadMinBytes(String.valueOf(1L << 32)));
        assertEquals(KernelConfig.DEFAULT_READ_AHEAD_MIN_BYTES, KernelConfig.readReadAheadMinBytes("-1"));
        assertEquals(KernelConfig.DEFAULT_READ_AHEAD_MIN_BYTES, KernelConfig.readReadAheadMinBytes("big"));
    }

    /** Under tandem.vectorBits=0 (a surefire execution of its own), dot must be the scalar path exactly. */
    @Test
    void scalarConfigMakesDotTheScalarPath() {
        // Other JVMs run the vector paths, which WeightMatrixTest compares with a tolerance.
        assumeTrue(KernelConfig.vectorBits() == 0, "runs in the scalar-kernels surefire execution");
        long seed = new Random().nextLong();
        Random rnd = new Random(seed);
        for (WeightFormat f : WeightFormat.values()) {
            int cols = f.blockSize() == 1 ? 101 : f.isKQuant() ? 256 : 96;
            Encoded e = Encoded.random(f, 3, cols, rnd);
            WeightMatrix m = e.matrix();
            float[] x = Encoded.gaussian(rnd, cols);
            for (int r = 0; r < 3; r++) {
                assertEquals(m.dotScalar(r, x, 0), m.dot(r, x, 0), 0f, f + " seed " + seed);
            }
        }
    }
}
