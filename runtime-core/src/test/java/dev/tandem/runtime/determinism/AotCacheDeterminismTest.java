package dev.tandem.runtime.determinism;

import dev.tandem.conformance.SharedData;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The AOT cache the tandem launcher builds (JEP 483/514: the classes loaded by a training run, trained
 * with scripts/aot-training.flags) changes no result: the same generations give the same logits bits
 * and ids without a cache, in the training run that writes one, and in a run that must use it
 * (-XX:AOTMode=on makes the JVM exit when it cannot). And it holds no method profiles (JEP 515),
 * which made C2 leave Vector API helpers out of line now and then (see that file).
 */
class AotCacheDeterminismTest {
    private static final int STEPS = 8;

    /** One method's training data in -XX:+AOTPrintTrainingInfo's dump of what goes into the cache. */
    private static final Pattern METHOD_TRAINING_DATA = Pattern.compile("^\\s*\\d+: 0x\\p{XDigit}+ M .*");

    @Test
    void generationsWithAndWithoutTheAotCacheAreBitIdentical(@TempDir Path dir) throws Exception {
        List<String> models = List.of("embedded",
                SharedData.model("stories260K-f32.gguf").toString(),
                SharedData.model("stories260K-q8_0.gguf").toString(),
                SharedData.model("stories260K-q4_0.gguf").toString());
        String classPath = FreshJvm.classPathOfJars(dir);
        Path cache = dir.resolve("tandem.aot");

        List<String> without = FreshJvm.fingerprints(FreshJvm.fork(List.of(), classPath, 1, STEPS, models));
        assertEquals(models.size(), without.size());

        List<String> trainingFlags = new ArrayList<>(launcherTrainingFlags());
        trainingFlags.addAll(List.of("-XX:+AOTPrintTrainingInfo", "-XX:AOTCacheOutput=" + cache, "-Xlog:aot=off", "-Xlog:cds=off"));
        List<String> trainingOut = FreshJvm.fork(trainingFlags, classPath, 1, STEPS, models);
        assertTrue(Files.size(cache) > 0, "the training run wrote " + cache);
        assertEquals(without, FreshJvm.fingerprints(trainingOut), "training run vs no cache");
        assertTrue(trainingOut.stream().anyMatch(l -> l.contains("Archived TrainingData Dictionary")),
                "the training run printed what it archives");
        assertEquals(List.of(), methodTrainingData(trainingOut), "method profiles in the launcher's cache");

        List<String> with = FreshJvm.fingerprints(FreshJvm.fork(
                List.of("-XX:AOTCache=" + cache, "-XX:AOTMode=on"), classPath, 1, STEPS, models));
        assertEquals(without, with, "with the AOT cache vs without");
    }

    /** The check above can fail: a training run without the launcher's flags archives method profiles. */
    @Test
    void aDefaultTrainingRunArchivesMethodProfiles(@TempDir Path dir) throws Exception {
        String classPath = FreshJvm.classPathOfJars(dir);
        List<String> out = FreshJvm.fork(List.of("-XX:+UnlockDiagnosticVMOptions", "-XX:+AOTPrintTrainingInfo",
                "-XX:AOTCacheOutput=" + dir.resolve("default.aot"), "-Xlog:aot=off", "-Xlog:cds=off"),
                classPath, 1, 2, List.of("embedded"));
        assertFalse(methodTrainingData(out).isEmpty(), "a default training run archives method training data");
    }

    private static List<String> methodTrainingData(List<String> out) {
        return out.stream().filter(l -> METHOD_TRAINING_DATA.matcher(l).matches()).toList();
    }

    /** scripts/aot-training.flags (tests run in their module's directory, one below the repository's). */
    private static List<String> launcherTrainingFlags() throws IOException {
        Path file = Path.of("").toAbsolutePath().getParent().resolve("scripts/aot-training.flags");
        try (Stream<String> lines = Files.lines(file)) {
            List<String> flags = lines.map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
            assertTrue(flags.contains("-XX:-AOTRecordTraining"), file + " keeps method profiles out: " + flags);
            return flags;
        }
    }
}
