package dev.tandem.kernels;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.invoke.MethodType;
import java.lang.reflect.Method;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * scripts/kernels.compile-commands, which ./tandem passes to HotSpot, force-inlines exactly the
 * kernels' Vector API helpers: every method of this package that takes or returns a vector. A helper
 * missing from it can be left out of line by C2 and then runs the API's Java fallback (see that file);
 * a line naming no such method is stale.
 */
class KernelInlineCommandsTest {
    private static final String VECTOR_PACKAGE = "jdk.incubator.vector";

    @Test
    void theLaunchersInlineCommandsAreTheKernelsVectorHelpers() throws Exception {
        Set<String> helpers = new TreeSet<>();
        for (Class<?> c : kernelClasses()) {
            for (Method m : c.getDeclaredMethods()) {
                if (!m.isSynthetic() && !m.getName().startsWith("lambda$") && passesVectors(m)) {
                    helpers.add("inline " + c.getName() + "::" + m.getName());
                }
            }
        }
        assertTrue(helpers.contains("inline dev.tandem.kernels.IntDot::widen"), "the scan finds the helpers: " + helpers);

        Path file = Path.of("").toAbsolutePath().getParent().resolve("scripts/kernels.compile-commands");
        List<String> commands;
        try (Stream<String> lines = Files.lines(file)) {
            commands = lines.map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
        }
        assertTrue(commands.contains("quiet"), file + " keeps HotSpot from printing each command on stdout");
        Set<String> inlined = new TreeSet<>(commands.stream().filter(l -> l.startsWith("inline ")).toList());
        Set<String> missing = new TreeSet<>(helpers);
        missing.removeAll(inlined);
        Set<String> stale = new TreeSet<>(inlined);
        stale.removeAll(helpers);
        assertEquals(List.of(), List.copyOf(missing), "vector helpers " + file + " does not force-inline (add these lines)");
        assertEquals(List.of(), List.copyOf(stale), "lines of " + file + " that name no vector helper (remove them)");
    }

    /**
     * Every other command names methods that exist: a pattern matching nothing (a class or method
     * renamed since) is silently ignored by HotSpot, and the compile it was written for comes back.
     */
    @Test
    void everyCommandOfAKernelClassNamesAMethodOfIt() throws Exception {
        List<String> commands = commands();
        int checked = 0;
        for (String line : commands) {
            String[] parts = line.split("\\s+");
            if (parts.length < 2 || parts[0].equals("inline") || !parts[1].startsWith("dev.tandem.kernels.")) {
                continue;
            }
            String[] classAndMethod = parts[1].split("::");
            assertEquals(2, classAndMethod.length, "a class::method pattern in: " + line);
            List<Class<?>> classes = classAndMethod[0].equals("dev.tandem.kernels.*") ? kernelClasses()
                    : List.of(Class.forName(classAndMethod[0], false, Ops.class.getClassLoader()));
            String method = classAndMethod[1];
            // An optional descriptor after the pattern narrows it to one overload, e.g. "scales ([BI[I[I)V".
            String descriptor = parts.length > 2 && parts[2].startsWith("(") ? parts[2] : null;
            boolean found = method.equals("*");
            for (Class<?> c : classes) {
                for (Method m : c.getDeclaredMethods()) {
                    boolean named = method.endsWith("*") ? m.getName().startsWith(method.substring(0, method.length() - 1))
                            : m.getName().equals(method);
                    found |= named && (descriptor == null || descriptor.equals(
                            MethodType.methodType(m.getReturnType(), m.getParameterTypes()).toMethodDescriptorString()));
                }
            }
            assertTrue(found, "no method of " + classAndMethod[0] + " matches: " + line);
            checked++;
        }
        assertTrue(checked >= 4, "checked the class-specific commands: " + checked);
    }

    private static List<String> commands() throws IOException {
        Path file = Path.of("").toAbsolutePath().getParent().resolve("scripts/kernels.compile-commands");
        try (Stream<String> lines = Files.lines(file)) {
            return lines.map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
        }
    }

    private static boolean passesVectors(Method m) {
        if (isVector(m.getReturnType())) {
            return true;
        }
        for (Class<?> p : m.getParameterTypes()) {
            if (isVector(p)) {
                return true;
            }
        }
        return false;
    }

    private static boolean isVector(Class<?> type) {
        return type.getPackageName().equals(VECTOR_PACKAGE);
    }

    /** The classes of this package as compiled (main classes only, nested ones included). */
    private static List<Class<?>> kernelClasses() throws IOException, URISyntaxException, ClassNotFoundException {
        Path root = Path.of(Ops.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path dir = root.resolve("dev/tandem/kernels");
        List<Class<?>> classes = new ArrayList<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".class")).sorted().toList()) {
                String name = "dev.tandem.kernels." + f.getFileName().toString().replace(".class", "");
                classes.add(Class.forName(name, false, Ops.class.getClassLoader()));
            }
        }
        assertTrue(classes.size() > 10, "found the kernels' classes under " + dir);
        return classes;
    }
}
