package dev.tandem.runtime.cli;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The launcher's own settings (environment variables it turns into JVM flags) are checked before it
 * builds or starts anything: a bad one gets one line naming it and exit status 2, not a JVM's
 * "Could not create the Java Virtual Machine" after minutes of building.
 */
class LauncherSettingsTest {
    private static final Path LAUNCHER = Path.of("..", "tandem").toAbsolutePath().normalize();

    private static List<String> rejected(String youngGeneration) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder("bash", LAUNCHER.toString(), "--help");
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().put("TANDEM_YOUNG", youngGeneration);
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(1, TimeUnit.MINUTES));
        assertEquals(2, p.exitValue(), err);
        assertEquals("", out);
        return err.lines().toList();
    }

    @Test
    void aYoungGenerationThatIsNotASizeIsOneLineNamingTheVariable() throws Exception {
        for (String bad : new String[] {"abc", "12x", "-5", "128 m", "0x10"}) {
            List<String> lines = rejected(bad);
            assertEquals(1, lines.size(), String.join("\n", lines));
            assertTrue(lines.getFirst().startsWith("tandem: TANDEM_YOUNG=" + bad + ": expected"), lines.getFirst());
        }
    }
}
