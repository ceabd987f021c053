package dev.tandem.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * scripts/runtime-image.sh, the linked runtime image ./tandem runs the CPU-side commands from: which command
 * lines it takes, that the image it links from this build's jars generates bit for bit what the module path
 * does, that it is linked again only when a jar is newer, and that a JDK that cannot link one is asked once.
 * (Here, in the last module, every module's jar is built.)
 */
class RuntimeImageTest {
    private static final Path REPO = Path.of("").toAbsolutePath().getParent();
    private static final Path SCRIPT = REPO.resolve("scripts/runtime-image.sh");
    private static final Path MODEL = REPO.getParent().resolve("shared/models/stories260K-q4_0.gguf");
    private static final String JAVA_HOME = System.getProperty("java.home");
    private static final String MAIN = "dev.tandem.runtime/dev.tandem.runtime.cli.Main";

    record Run(int code, String out, String err) {}

    private static Run run(List<String> command, String javaHome) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().put("JAVA_HOME", javaHome);
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(3, TimeUnit.MINUTES), "must not hang: " + command);
        return new Run(p.exitValue(), out, err);
    }

    /** SCRIPT sourced with the launcher's {@code root}, then BODY. */
    private static Run bash(Path root, String javaHome, String body) throws IOException, InterruptedException {
        return run(List.of("bash", "-c", "set -euo pipefail; root=\"" + root + "\"; . \"" + SCRIPT + "\"; " + body), javaHome);
    }

    @Test
    void theImageTakesTheCpuSideCommandsAndNothingThatNeedsAModuleOutsideIt(@TempDir Path root) throws Exception {
        List<String> takes = List.of("generate", "generate -n 2 --ids", "bench -m x.gguf -t 2", "tokenize --tokenizer t x",
                "info -m m.gguf", "compile --shape llama-2-7b --pool cpu,lp30*4 --policy afd", "run --pool cpu,lp30*2",
                "run -m x.gguf --pool=cpu", "device-bench --device cpu");
        List<String> leaves = List.of("", "--help", "-V", "-h generate", "run", "run -m x.gguf -n 4", "devices", "calibrate", "serve -m x.gguf",
                "bench-serve --url http://h", "factory --shape llama-3-8b", "genrate", "generate --device opencl",
                "generate --device=CUDA:0", "compile --shape x --pool cpu,OpenCL --policy afd", "run --pool cuda*2");
        StringBuilder body = new StringBuilder();
        for (String args : takes) {
            body.append("tandem_image_serves ").append(args).append(" && echo yes || echo no; ");
        }
        for (String args : leaves) {
            body.append("tandem_image_serves ").append(args).append(" && echo yes || echo no; ");
        }
        Run r = bash(root, JAVA_HOME, body.toString());
        assertEquals(0, r.code(), r.err());
        List<String> answers = r.out().lines().toList();
        assertEquals(takes.size() + leaves.size(), answers.size(), r.out());
        for (int i = 0; i < takes.size(); i++) {
            assertEquals("yes", answers.get(i), "'" + takes.get(i) + "' runs from the image");
        }
        for (int i = 0; i < leaves.size(); i++) {
            assertEquals("no", answers.get(takes.size() + i), "'" + leaves.get(i) + "' runs on the module path");
        }
    }

    /** The jars the launcher links, copied into ROOT's layout; returns them. */
    private static List<Path> copyJars(Path root) throws IOException {
        List<Path> copied = new ArrayList<>();
        for (String module : List.of("kernels", "runtime-core", "device-lpu-sim")) {
            Path target = REPO.resolve(module).resolve("target");
            Path into = Files.createDirectories(root.resolve(module).resolve("target"));
            try (Stream<Path> jars = Files.list(target)) {
                for (Path jar : jars.filter(p -> p.getFileName().toString().matches("tandem-.*(?<!-tests|-sources)\\.jar")).toList()) {
                    copied.add(Files.copy(jar, into.resolve(jar.getFileName())));
                }
            }
            Path lib = target.resolve("lib");
            if (Files.isDirectory(lib)) {
                Path libInto = Files.createDirectories(into.resolve("lib"));
                try (Stream<Path> jars = Files.list(lib)) {
                    for (Path jar : jars.toList()) {
                        copied.add(Files.copy(jar, libInto.resolve(jar.getFileName())));
                    }
                }
            }
        }
        assertTrue(copied.size() >= 4, "kernels, runtime-core and its libraries, the LPU emulator: " + copied);
        return copied;
    }

    @Test
    void theLinkedImageGeneratesWhatTheModulePathDoesAndIsLinkedAgainOnlyWhenAJarIsNewer(@TempDir Path root) throws Exception {
        List<Path> jars = copyJars(root);
        Run ready = bash(root, JAVA_HOME, "tandem_image_ready && echo \"$tandem_image\"");
        assertEquals(0, ready.code(), ready.err());
        Path image = Path.of(ready.out().strip());
        assertEquals(root.resolve("runtime-core/target/tandem-image"), image);
        Run modules = run(List.of(image.resolve("bin/java").toString(), "--list-modules"), JAVA_HOME);
        for (String module : List.of("dev.tandem.runtime", "dev.tandem.kernels", "dev.tandem.device.lpu", "jdk.incubator.vector", "jdk.jfr")) {
            assertTrue(modules.out().contains(module + "@"), module + " in\n" + modules.out());
        }
        assertFalse(modules.out().contains("java.desktop"), "only what the core modules need: " + modules.out());

        List<String> generate = List.of("generate", "-m", MODEL.toString(), "--prompt-ids", "1,72,101", "-n", "12", "--ids",
                "--temperature", "0.8", "--seed", "7", "--logits-out");
        List<String> fromImage = new ArrayList<>(List.of(image.resolve("bin/java").toString(), "--enable-native-access=dev.tandem.runtime",
                "-m", MAIN));
        fromImage.addAll(generate);
        fromImage.add(root.resolve("image.json").toString());
        String path = String.join(":", jars.stream().map(Path::toString).toList());
        List<String> fromPath = new ArrayList<>(List.of(Path.of(JAVA_HOME, "bin", "java").toString(), "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=dev.tandem.runtime", "-p", path, "-m", MAIN));
        fromPath.addAll(generate);
        fromPath.add(root.resolve("path.json").toString());
        Run a = run(fromImage, JAVA_HOME), b = run(fromPath, JAVA_HOME);
        assertEquals(0, a.code(), a.err());
        assertEquals(0, b.code(), b.err());
        assertEquals(12, a.out().strip().split(" ").length, a.out());
        assertEquals(b.out(), a.out(), "the same ids");
        assertEquals(Files.readString(root.resolve("path.json")), Files.readString(root.resolve("image.json")), "the same logits");

        Path release = image.resolve("release");
        FileTime linked = Files.getLastModifiedTime(release);
        assertEquals(0, bash(root, JAVA_HOME, "tandem_image_ready").code());
        assertEquals(linked, Files.getLastModifiedTime(release), "an image newer than every jar is kept");
        Files.setLastModifiedTime(jars.getFirst(), FileTime.fromMillis(linked.toMillis() + 60_000));
        assertEquals(0, bash(root, JAVA_HOME, "tandem_image_ready").code());
        assertNotEquals(linked, Files.getLastModifiedTime(release), "a newer jar links the image again");
    }

    @Test
    void aJdkThatCannotLinkIsAskedOnceUntilTheJarsChange(@TempDir Path root) throws Exception {
        List<Path> jars = copyJars(root);
        Path jdk = Files.createDirectories(root.resolve("jdk/bin"));
        Path calls = root.resolve("jlink-calls");
        Path jlink = Files.writeString(jdk.resolve("jlink"), "#!/bin/sh\necho x >> '" + calls + "'\necho 'jlink: no jmods' >&2\nexit 1\n");
        assertTrue(jlink.toFile().setExecutable(true));
        String home = jdk.getParent().toString();
        for (int i = 0; i < 2; i++) {
            Run r = bash(root, home, "tandem_image_ready && echo ready || echo 'module path'");
            assertEquals(0, r.code(), r.err());
            assertEquals("module path", r.out().strip());
            assertEquals("", r.err(), "jlink's complaint stays out of the command's output");
        }
        assertEquals(1, Files.readAllLines(calls).size(), "the failure is remembered");
        assertFalse(Files.exists(root.resolve("runtime-core/target/tandem-image")));
        Files.setLastModifiedTime(jars.getLast(), FileTime.fromMillis(System.currentTimeMillis() + 60_000));
        bash(root, home, "tandem_image_ready || true");
        assertEquals(2, Files.readAllLines(calls).size(), "a changed jar is worth another try");
    }
}
