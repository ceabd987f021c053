package dev.tandem.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * benchmarks/cold-start's bad input: each ends with exit status 2 and one line on stderr naming what
 * is wrong, before anything is built or run (a timed run needs a model and minutes, so not here).
 */
class ColdStartScriptTest {
    private static final Path SCRIPT = Path.of("cold-start").toAbsolutePath();

    record Run(int code, String out, String err) {}

    private static Run run(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("bash", SCRIPT.toString()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(1, TimeUnit.MINUTES), "the script must not hang");
        return new Run(p.exitValue(), out, err);
    }

    private static void oneLine(Run r, String expected) {
        assertEquals(2, r.code(), r.err());
        assertEquals("", r.out());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().contains(expected), r.err());
    }

    @Test
    void tooFewArgumentsPrintTheUsage() throws Exception {
        oneLine(run(), "usage: benchmarks/cold-start REV MODEL");
        oneLine(run("HEAD"), "usage: benchmarks/cold-start REV MODEL");
    }

    @Test
    void aMissingModelIsNamed(@TempDir Path dir) throws Exception {
        Path missing = dir.resolve("no-such.gguf");
        oneLine(run("HEAD", missing.toString()), "model '" + missing + "' is not a file");
    }

    @Test
    void badOptionsAreNamed(@TempDir Path dir) throws Exception {
        Path model = Files.createFile(dir.resolve("m.gguf"));
        oneLine(run("HEAD", model.toString(), "--runs", "0"), "--runs '0' must be a positive integer");
        oneLine(run("HEAD", model.toString(), "--runs", "x"), "--runs 'x' must be a positive integer");
        oneLine(run("HEAD", model.toString(), "--runs"), "--runs needs a value");
        oneLine(run("HEAD", model.toString(), "--bogus"), "unknown option '--bogus'");
        oneLine(run("HEAD", model.toString(), "-n", "0"), "-n '0' must be a positive integer");
        oneLine(run("HEAD", model.toString(), "-n"), "-n needs a value");
    }

    @Test
    void anUnknownRevisionIsNamed(@TempDir Path dir) throws Exception {
        Path model = Files.createFile(dir.resolve("m.gguf"));
        oneLine(run("no-such-revision-31", model.toString()), "'no-such-revision-31' is not a revision of");
    }
}
