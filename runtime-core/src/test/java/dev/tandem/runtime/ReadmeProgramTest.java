package dev.tandem.runtime;

import dev.tandem.runtime.generate.Sampling;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The README's complete Java program, taken verbatim from README.md, runs as written: launched as a
 * source file in a fresh JVM with the README's flags on this module's class path, it prints the
 * embedded model's greedy text, which is words.
 */
class ReadmeProgramTest {
    /** The README marks the program with this comment on the line before its code fence. */
    static final String MARKER = "<!-- the README program: ReadmeProgramTest runs it verbatim -->";

    static String program() throws IOException {
        String readme = Files.readString(readme());
        int at = readme.indexOf(MARKER);
        assertTrue(at >= 0, "README.md has no line " + MARKER);
        Matcher m = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL).matcher(readme);
        assertTrue(m.find(at), "no ```java block after the marker");
        return m.group(1);
    }

    private static Path readme() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve("README.md")) && Files.isDirectory(dir.resolve("runtime-core"))) {
                return dir.resolve("README.md");
            }
        }
        throw new AssertionError("no README.md above " + Path.of("").toAbsolutePath());
    }

    /** The program's Sampling expression: greedy() or temperature(T, SEED), then maxTokens(N). */
    private static Sampling sampling(String program) {
        Matcher max = Pattern.compile("maxTokens\\((\\d+)\\)").matcher(program);
        assertTrue(max.find(), program);
        Matcher t = Pattern.compile("Sampling\\.temperature\\(([\\d.]+)f?, (\\d+)L?\\)").matcher(program);
        Sampling s = t.find() ? Sampling.temperature(Float.parseFloat(t.group(1)), Long.parseLong(t.group(2))) : Sampling.greedy();
        return s.maxTokens(Integer.parseInt(max.group(1)));
    }

    @Test
    void theProgramIsCompleteAndShort() throws IOException {
        String program = program();
        long lines = program.lines().count();
        assertTrue(lines <= 10, "the README promises a 10-line program; it has " + lines + " lines");
        assertTrue(program.contains("public static void main"), program);
        String readme = Files.readString(readme());
        assertTrue(readme.contains("--add-modules jdk.incubator.vector --enable-native-access="), "the README gives the JVM flags");
    }

    @Test
    void theProgramRunsAsWrittenAndPrintsWords() throws Exception {
        String program = program();
        Matcher name = Pattern.compile("public class (\\w+)").matcher(program);
        assertTrue(name.find(), program);
        Path dir = Files.createTempDirectory("readme-program");
        Path source = dir.resolve(name.group(1) + ".java");
        Files.writeString(source, program);
        Path out = dir.resolve("out.txt"), err = dir.resolve("err.txt");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path")));
        String quantDot = System.getProperty("tandem.quantDot");
        if (quantDot != null) {
            // The same kernels as the in-process run it is compared with.
            cmd.add("-Dtandem.quantDot=" + quantDot);
        }
        cmd.add(source.toString());
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        p.getOutputStream().close();
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            fail("the README program did not finish in 5 minutes");
        }
        assertEquals(0, p.exitValue(), "the README program failed: " + Files.readString(err));
        String printed = Files.readString(out, StandardCharsets.UTF_8);

        try (Model model = Model.embedded(); Session session = Tandem.open(model)) {
            Matcher prompt = Pattern.compile("generate\\(\"([^\"]*)\"").matcher(program);
            assertTrue(prompt.find(), program);
            StringBuilder expected = new StringBuilder();
            session.generate(prompt.group(1), sampling(program), t -> expected.append(t.text()));
            assertEquals(expected.toString(), printed, "the program prints the embedded model's text");
        }
        String[] words = printed.strip().split("\\s+");
        long alphabetic = java.util.Arrays.stream(words).filter(w -> w.matches("\\p{Alpha}+[,.;:!?]?")).count();
        assertTrue(words.length >= 10 && alphabetic >= 0.8 * words.length, "not words: " + printed);
    }
}
