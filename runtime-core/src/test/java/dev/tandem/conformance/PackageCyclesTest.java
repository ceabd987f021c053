package dev.tandem.conformance;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.spi.ToolProvider;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** {@link PackageCycles} finds a cycle it is shown, names its classes, and refuses missing classes. */
class PackageCyclesTest {
    @TempDir
    Path dir;

    @Test
    void aCycleThroughThreePackagesIsFoundWithTheClassesThatMakeIt() throws IOException {
        Path classes = compile(Map.of(
                "a/Api.java", "package a; public class Api { b.Impl impl; }",
                "b/Impl.java", "package b; public class Impl { c.Error error; }",
                "c/Error.java", "package c; public class Error { a.Api thrownBy; }",
                "d/Leaf.java", "package d; public class Leaf { a.Api api; }"));

        PackageCycles.PackageGraph graph = PackageCycles.graph(classes);

        assertEquals(Set.of("a", "b", "c", "d"), graph.packages());
        List<String> cycles = graph.cycles();
        assertEquals(1, cycles.size(), cycles.toString());
        String cycle = cycles.getFirst();
        assertEquals("""
                a -> b -> c -> a (the cycle's 3 packages: [a, b, c])
                    a -> b: Api -> Impl
                    b -> c: Impl -> Error
                    c -> a: Error -> Api""", cycle);
    }

    @Test
    void dependencesThatRunOneWayAreNoCycle() throws IOException {
        Path classes = compile(Map.of(
                "api/Facade.java", "package api; public class Facade { impl.Engine engine; error.Failure failure; }",
                "impl/Engine.java", "package impl; public class Engine { error.Failure failure; }",
                "error/Failure.java", "package error; public class Failure extends RuntimeException { }"));

        PackageCycles.PackageGraph graph = PackageCycles.graph(classes);

        assertEquals(Set.of("api", "impl", "error"), graph.packages());
        assertEquals(Set.of("Facade -> Engine"), graph.edges().get("api").get("impl"));
        assertEquals(List.of(), graph.cycles());
    }

    @Test
    void missingClassesFailInsteadOfPassing() throws IOException {
        assertThrows(AssertionError.class, () -> PackageCycles.graph(dir.resolve("absent")));
        Files.createDirectories(dir.resolve("empty"));
        assertThrows(AssertionError.class, () -> PackageCycles.graph(dir.resolve("empty")));
    }

    private Path compile(Map<String, String> sources) throws IOException {
        Path src = dir.resolve("src");
        Path out = dir.resolve("classes");
        Files.createDirectories(out);
        String[] args = new String[sources.size() + 2];
        args[0] = "-d";
        args[1] = out.toString();
        int i = 2;
        for (var e : sources.entrySet()) {
            Path file = src.resolve(e.getKey());
            Files.createDirectories(file.getParent());
            Files.writeString(file, e.getValue());
            args[i++] = file.toString();
        }
        ToolProvider javac = ToolProvider.findFirst("javac").orElse(null);
        assertNotNull(javac, "no javac in this JDK");
        StringWriter log = new StringWriter();
        assertEquals(0, javac.run(new PrintWriter(log, true), new PrintWriter(log, true), args), log::toString);
        return out;
    }
}
