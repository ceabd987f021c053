package dev.tandem.runtime.determinism;

import dev.tandem.conformance.SharedData;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The AOT cache the tandem launcher builds (JEP 483/514/515: loaded classes and method profiles of
 * a training run) changes no result: the same generations give the same logits bits and ids
 * without a cache, in the training run that writes one, and in a run that must use it
 * (-XX:AOTMode=on makes the JVM exit when it cannot).
 */
class AotCacheDeterminismTest {
    private static final int STEPS = 8;

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

        List<String> training = FreshJvm.fingerprints(FreshJvm.fork(
                List.of("-XX:AOTCacheOutput=" + cache, "-Xlog:aot=off", "-Xlog:cds=off"), classPath, 1, STEPS, models));
        assertTrue(Files.size(cache) > 0, "the training run wrote " + cache);
        assertEquals(without, training, "training run vs no cache");

        List<String> with = FreshJvm.fingerprints(FreshJvm.fork(
                List.of("-XX:AOTCache=" + cache, "-XX:AOTMode=on"), classPath, 1, STEPS, models));
        assertEquals(without, with, "with the AOT cache vs without");
    }
}
