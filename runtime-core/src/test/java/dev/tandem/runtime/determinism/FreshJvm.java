package dev.tandem.runtime.determinism;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** Runs {@link GenerationFingerprint} in a fresh JVM on this test's class path. */
final class FreshJvm {
    private FreshJvm() {}

    /** Runs it with jvmFlags on the test class path and returns its stdout lines. */
    static List<String> fork(List<String> jvmFlags, int generations, int steps, List<String> models)
            throws IOException, InterruptedException {
        return fork(jvmFlags, System.getProperty("java.class.path"), generations, steps, models);
    }

    /** Runs it with jvmFlags on classPath and returns its stdout lines; a non-zero exit fails the test. */
    static List<String> fork(List<String> jvmFlags, String classPath, int generations, int steps, List<String> models)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmFlags);
        cmd.addAll(List.of("--add-modules", "jdk.incubator.vector", "-cp", classPath,
                GenerationFingerprint.class.getName(), Integer.toString(generations), Integer.toString(steps)));
        cmd.addAll(models);
        Path out = Files.createTempFile("fingerprint", ".out");
        Path err = Files.createTempFile("fingerprint", ".err");
        try {
            Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            p.getOutputStream().close();
            if (!p.waitFor(10, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                fail("fingerprint JVM " + jvmFlags + " did not finish in 10 minutes");
            }
            assertEquals(0, p.exitValue(), "fingerprint JVM " + jvmFlags + " failed: " + Files.readString(err));
            return Files.readAllLines(out);
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /**
     * The fingerprint lines of a fork's stdout. Found anywhere in a line, not only at its start:
     * HotSpot writes -XX:+PrintCompilation's lines to the same stdout in several pieces, so a
     * fingerprint (one println, one write) can land after the first piece of a compile line (CI once
     * counted 47 of 48 generations that way).
     */
    static List<String> fingerprints(List<String> out) {
        return out.stream().map(FreshJvm::fingerprint).filter(f -> f != null).toList();
    }

    /** "fingerprint " not preceded by a name character (a compile line names "...Fingerprint::fingerprint (N bytes)"). */
    private static final java.util.regex.Pattern FINGERPRINT =
            java.util.regex.Pattern.compile("(?<![\\w:.$])" + java.util.regex.Pattern.quote(GenerationFingerprint.PREFIX));

    /** The fingerprint in a line of a fork's stdout, from its prefix to the line's end, or null. */
    static String fingerprint(String line) {
        java.util.regex.Matcher m = FINGERPRINT.matcher(line);
        return m.find() ? line.substring(m.start()) : null;
    }

    /**
     * This test's class path with each directory (target/classes, target/test-classes) packed into a
     * jar under dir: an AOT cache, like CDS, takes classes from jars only.
     */
    static String classPathOfJars(Path dir) throws IOException {
        List<String> entries = new ArrayList<>();
        int n = 0;
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path p = Path.of(entry);
            if (Files.isDirectory(p)) {
                Path jar = dir.resolve("classes-" + n++ + ".jar");
                pack(p, jar);
                entries.add(jar.toString());
            } else if (Files.isRegularFile(p)) {
                entries.add(entry);
            }
        }
        return String.join(File.pathSeparator, entries);
    }

    private static void pack(Path root, Path jar) throws IOException {
        try (OutputStream file = Files.newOutputStream(jar); JarOutputStream out = new JarOutputStream(file);
             Stream<Path> files = Files.walk(root)) {
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                out.putNextEntry(new JarEntry(root.relativize(f).toString().replace(File.separatorChar, '/')));
                Files.copy(f, out);
                out.closeEntry();
            }
        }
    }
}
