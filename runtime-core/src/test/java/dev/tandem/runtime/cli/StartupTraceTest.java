package dev.tandem.runtime.cli;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * -Dtandem.startupTrace=true makes generate print where a cold run's time went, one phase per mark in
 * the order they happen; without it nothing is printed (and LauncherQuietTest holds stderr to the
 * stats line). A fresh JVM each, since the switch is read once per JVM.
 */
class StartupTraceTest {
    private static final Pattern PHASE = Pattern.compile(" (\\w+)=\\+([0-9.]+)/([0-9.]+)/([0-9.]+)/([0-9]+)");

    private static List<String> stderrOf(String... jvmFlags) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("java.class.path")));
        cmd.addAll(List.of(jvmFlags));
        cmd.addAll(List.of(Main.class.getName(), "generate", "-n", "2", "--ids", "--prompt-ids", "1,2"));
        Process p = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        p.getOutputStream().close();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(2, TimeUnit.MINUTES));
        assertEquals(0, p.exitValue(), err);
        return err.lines().filter(l -> !l.startsWith("WARNING: Using incubator")).toList();
    }

    @Test
    void theTraceNamesEveryPhaseInOrder() throws Exception {
        List<String> err = stderrOf("-D" + StartupTrace.PROPERTY + "=true");
        List<String> trace = err.stream().filter(l -> l.startsWith("startup: ")).toList();
        assertEquals(1, trace.size(), String.join("\n", err));
        String line = trace.getFirst();
        assertTrue(line.matches("startup: jvm=\\d+ .*"), line);
        Matcher m = PHASE.matcher(line);
        List<String> phases = new ArrayList<>();
        while (m.find()) {
            phases.add(m.group(1));
            double wall = Double.parseDouble(m.group(2)), thread = Double.parseDouble(m.group(3)), java = Double.parseDouble(m.group(4));
            assertTrue(thread <= java + 1e-6, "the calling thread's CPU is part of all Java threads': " + line);
            assertTrue(wall >= 0 && thread >= 0, line);
        }
        assertEquals(List.of("command", "mapped", "session", "first_token", "generated"), phases, line);
    }

    @Test
    void withoutThePropertyThereIsNoTrace() throws Exception {
        List<String> err = stderrOf();
        assertTrue(err.stream().noneMatch(l -> l.startsWith("startup:")), String.join("\n", err));
        assertTrue(err.stream().anyMatch(l -> l.startsWith("stats: ")), String.join("\n", err));
    }
}
