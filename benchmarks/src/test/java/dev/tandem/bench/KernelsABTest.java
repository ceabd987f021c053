package dev.tandem.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tandem.kernels.WeightFormat;
import java.net.URISyntaxException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** KernelsAB loads two builds of the kernels side by side: here the same build twice, which must agree bit for bit. */
class KernelsABTest {
    /** This JVM's kernels: their jar, or their classes directory in a reactor build. */
    private static Path kernels() throws URISyntaxException {
        return Path.of(WeightFormat.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    @Test
    void theSameBuildTwiceGivesTheSameBitsAndTimesBoth() throws Exception {
        for (String format : new String[] {"Q8_0", "Q4_K", "F16"}) {
            for (int batch : new int[] {1, 5}) {
                KernelsAB.Result r = KernelsAB.compare(kernels(), kernels(), format, 16, 256, batch, 0.01);
                String where = format + " batch " + batch + ": " + r;
                assertTrue(r.sameBits(), where);
                assertTrue(r.calls() >= 12, where);
                assertTrue(r.bestA() >= r.medianA() && r.medianA() > 0, where);
                assertTrue(r.bestB() >= r.medianB() && r.medianB() > 0, where);
            }
        }
    }

    @Test
    void aMissingBuildIsNamed(@TempDir Path dir) throws Exception {
        Path missing = dir.resolve("no-such.jar");
        var e = assertThrows(IllegalArgumentException.class, () -> KernelsAB.compare(kernels(), missing, "Q8_0", 16, 256, 1, 0.01));
        assertEquals("no kernels jar or classes directory at " + missing, e.getMessage());
    }

    @Test
    void anUnknownFormatIsNamedWithTheKnownOnes() {
        var e = assertThrows(IllegalArgumentException.class, () -> KernelsAB.compare(kernels(), kernels(), "Q9_9", 16, 256, 1, 0.01));
        assertTrue(e.getMessage().startsWith("unknown FORMAT 'Q9_9' (one of [F32"), e.getMessage());
    }

    @Test
    void aDirectoryWithoutTheKernelsIsNamed(@TempDir Path dir) {
        var e = assertThrows(IllegalArgumentException.class, () -> KernelsAB.compare(dir, dir, "Q8_0", 16, 256, 1, 0.01));
        assertTrue(e.getMessage().startsWith(dir + " does not hold Tandem's kernels"), e.getMessage());
    }
}
