package dev.tandem.runtime.cli;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * ./tandem starts java through scripts/java-quiet.sh, which drops the JVM's "Using incubator modules"
 * warning and nothing else. The CLI runs here on the test class path, started the way the launcher
 * starts it.
 */
class LauncherQuietTest {
    private static final String WARNING = "WARNING: Using incubator modules: jdk.incubator.vector";
    private static final Path SCRIPT = Path.of("..", "scripts", "java-quiet.sh").toAbsolutePath().normalize();

    record Run(int code, String out, String err) {}

    /** bash -c SCRIPT with the launcher's function sourced and JAVA_HOME, CP set. */
    private static Run bash(String script) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder("bash", "-c", "set -euo pipefail; . \"$QUIET\"; " + script);
        pb.environment().put("QUIET", SCRIPT.toString());
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().put("CP", System.getProperty("java.class.path"));
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(2, TimeUnit.MINUTES));
        return new Run(p.exitValue(), out, err);
    }

    private static final String CLI = "--add-modules jdk.incubator.vector -cp \"$CP\" dev.tandem.runtime.cli.Main";

    @Test
    void theLauncherUsesTheFilter() throws IOException {
        String launcher = Files.readString(SCRIPT.getParent().getParent().resolve("tandem"));
        assertTrue(launcher.contains(". \"$root/scripts/java-quiet.sh\"") && launcher.contains("tandem_java "), launcher);
        assertFalse(launcher.contains("exec \"$JAVA_HOME/bin/java\""), "java must not be started unfiltered");
    }

    @Test
    void aNormalGenerateHasOnlyItsStatsLineOnStderr() throws Exception {
        Run plain = bash("\"$JAVA_HOME/bin/java\" " + CLI + " generate -n 2 --ids");
        assertTrue(plain.err().contains(WARNING), "without the filter the JVM warns, so this test can fail: " + plain.err());

        Run quiet = bash("tandem_java " + CLI + " generate -n 2 --ids");
        assertEquals(0, quiet.code(), quiet.err());
        assertEquals(plain.out(), quiet.out(), "stdout passes untouched");
        List<String> lines = quiet.err().lines().toList();
        assertEquals(1, lines.size(), quiet.err());
        assertTrue(lines.getFirst().startsWith("stats: "), quiet.err());
    }

    @Test
    void exitCodesAndOtherStderrLinesPassThrough() throws Exception {
        Run usage = bash("tandem_java " + CLI + " generate --no-such-flag");
        assertEquals(2, usage.code(), usage.err());
        assertFalse(usage.err().contains(WARNING), usage.err());
        assertTrue(usage.err().contains("no-such-flag"), usage.err());

        Run version = bash("tandem_java -version");
        assertEquals(0, version.code());
        assertTrue(version.err().lines().findFirst().orElse("").contains("version"), "a first line that is not the warning stays: " + version.err());

        Run failing = bash("tandem_java -XX:+NoSuchTandemFlag -version || echo \"status $?\"");
        assertTrue(failing.out().contains("status 1"), failing.out());
        assertTrue(failing.err().contains("NoSuchTandemFlag"), failing.err());
    }
}
