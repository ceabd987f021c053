package dev.tandem.conformance;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.CodeSource;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.spi.ToolProvider;
import java.util.stream.Stream;

/**
 * The package graph of one module's compiled classes, from {@code jdeps}, and its cycles. Every
 * module's tests call {@link #assertAcyclic} on a class of the module (the brief: no package cycles).
 * It fails, never skips, when the classes or jdeps are missing.
 */
public final class PackageCycles {
    /** A class-level dependence as {@code jdeps -verbose:class} prints it: from, to, where "to" lives. */
    private static final Pattern DEPENDENCE = Pattern.compile("^\\s+(\\S+)\\s+->\\s+(\\S+)\\s+\\S.*$");

    /** How many class-level dependences a cycle's message names per edge. */
    private static final int SHOWN_CLASSES = 4;

    private PackageCycles() {}

    /**
     * Fails, naming each cycle and the classes behind each of its edges, when the packages of the
     * classes that {@code classOfTheModule} was loaded with (the module's target/classes, or its jar)
     * depend on each other in a cycle.
     */
    public static void assertAcyclic(Class<?> classOfTheModule) {
        Path classes = classesOf(classOfTheModule);
        List<String> cycles = graph(classes).cycles();
        if (!cycles.isEmpty()) {
            throw new AssertionError("package cycles in " + classes + ":\n" + String.join("\n", cycles));
        }
    }

    /** Where a class was loaded from: a directory of classes or a jar. */
    public static Path classesOf(Class<?> c) {
        CodeSource source = c.getProtectionDomain().getCodeSource();
        if (source == null || source.getLocation() == null) {
            throw new AssertionError(c.getName() + " has no code source to analyse");
        }
        try {
            return Path.of(source.getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new AssertionError("code source of " + c.getName() + ": " + e.getMessage(), e);
        }
    }

    /**
     * The package graph of a directory of classes or a jar. jdeps reads a directory or jar with a
     * module descriptor as a named module and then insists on resolving every module it requires, so
     * the classes are copied without the descriptor and analysed as a plain class path entry.
     */
    public static PackageGraph graph(Path classesDirOrJar) {
        if (!Files.exists(classesDirOrJar)) {
            throw new AssertionError(classesDirOrJar + " does not exist: compile the module first");
        }
        Path copy = null;
        try {
            copy = Files.createTempDirectory("package-cycles");
            Set<String> classNames = copyClasses(classesDirOrJar, copy);
            if (classNames.isEmpty()) {
                throw new AssertionError("no classes in " + classesDirOrJar);
            }
            return parse(jdeps(copy), classNames);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            deleteQuietly(copy);
        }
    }

    /** The graph from jdeps' -verbose:class output, keeping only dependences between the given classes. */
    static PackageGraph parse(String jdepsOutput, Set<String> classNames) {
        Map<String, Map<String, Set<String>>> edges = new TreeMap<>();
        for (String name : classNames) {
            edges.putIfAbsent(packageOf(name), new TreeMap<>());
        }
        int dependences = 0;
        for (String line : jdepsOutput.split("\\R")) {
            Matcher m = DEPENDENCE.matcher(line);
            if (!m.matches()) {
                continue;
            }
            dependences++;
            String from = m.group(1);
            String to = m.group(2);
            if (classNames.contains(from) && classNames.contains(to) && !packageOf(from).equals(packageOf(to))) {
                edges.get(packageOf(from)).computeIfAbsent(packageOf(to), k -> new TreeSet<>())
                        .add(simpleName(from) + " -> " + simpleName(to));
            }
        }
        if (dependences == 0) {
            // Every class depends on java.lang at least, so no line parsed means the format changed.
            throw new AssertionError("no dependences parsed from jdeps output:\n" + jdepsOutput);
        }
        return new PackageGraph(edges);
    }

    private static String jdeps(Path classes) {
        ToolProvider jdeps = ToolProvider.findFirst("jdeps")
                .orElseThrow(() -> new AssertionError("no jdeps tool in this JDK (" + System.getProperty("java.home") + ")"));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int rc = jdeps.run(new PrintWriter(out, true), new PrintWriter(err, true),
                "-verbose:class", "-filter:package", classes.toString());
        if (rc != 0) {
            throw new AssertionError("jdeps exited " + rc + " on " + classes + ": " + err + out);
        }
        return out.toString();
    }

    private static Set<String> copyClasses(Path from, Path to) throws IOException {
        if (Files.isDirectory(from)) {
            return copyClassTree(from, to);
        }
        try (FileSystem jar = FileSystems.newFileSystem(from)) {
            return copyClassTree(jar.getPath("/"), to);
        }
    }

    private static Set<String> copyClassTree(Path root, Path to) throws IOException {
        Set<String> names = new TreeSet<>();
        List<Path> files;
        try (Stream<Path> walk = Files.walk(root)) {
            files = walk.filter(p -> p.getFileName() != null && p.getFileName().toString().endsWith(".class"))
                    .filter(p -> !p.getFileName().toString().equals("module-info.class"))
                    // A multi-release jar's versioned copies are the same classes again.
                    .filter(p -> !root.relativize(p).toString().startsWith("META-INF"))
                    .toList();
        }
        for (Path file : files) {
            String relative = root.relativize(file).toString();
            Path target = to.resolve(relative);
            Files.createDirectories(target.getParent());
            Files.copy(file, target);
            names.add(relative.substring(0, relative.length() - ".class".length()).replace(root.getFileSystem().getSeparator(), "."));
        }
        return names;
    }

    private static void deleteQuietly(Path dir) {
        if (dir == null) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException | UncheckedIOException e) {
            // A leftover temporary directory does not change the result.
        }
    }

    static String packageOf(String className) {
        int dot = className.lastIndexOf('.');
        return dot < 0 ? "" : className.substring(0, dot);
    }

    private static String simpleName(String className) {
        return className.substring(className.lastIndexOf('.') + 1);
    }

    /**
     * Packages and, for each dependence between two of them, the class-level dependences behind it
     * ("Outer$Inner -> Other").
     */
    public record PackageGraph(Map<String, Map<String, Set<String>>> edges) {
        public Set<String> packages() { return edges.keySet(); }

        /**
         * One entry per strongly connected group of two or more packages: a cycle through them, then
         * a line per edge naming the classes that make it. Empty when the graph is acyclic.
         */
        public List<String> cycles() {
            List<String> lines = new ArrayList<>();
            for (Set<String> group : stronglyConnected()) {
                if (group.size() > 1) {
                    lines.add(describe(cycleThrough(group), group));
                }
            }
            return lines;
        }

        private String describe(List<String> cycle, Set<String> group) {
            StringBuilder sb = new StringBuilder(String.join(" -> ", cycle));
            sb.append(" (the cycle's ").append(group.size()).append(" packages: ").append(group).append(")");
            for (int i = 0; i + 1 < cycle.size(); i++) {
                String from = cycle.get(i);
                String to = cycle.get(i + 1);
                List<String> because = List.copyOf(edges.get(from).get(to));
                sb.append("\n    ").append(from).append(" -> ").append(to).append(": ")
                        .append(String.join(", ", because.subList(0, Math.min(SHOWN_CLASSES, because.size()))));
                if (because.size() > SHOWN_CLASSES) {
                    sb.append(" and ").append(because.size() - SHOWN_CLASSES).append(" more");
                }
            }
            return sb.toString();
        }

        /** The shortest cycle from the group's first package back to itself, inside the group. */
        private List<String> cycleThrough(Set<String> group) {
            String start = group.iterator().next();
            Map<String, String> parent = new HashMap<>();
            Deque<String> queue = new ArrayDeque<>(List.of(start));
            while (!queue.isEmpty()) {
                String at = queue.poll();
                for (String next : edges.get(at).keySet()) {
                    if (!group.contains(next)) {
                        continue;
                    }
                    if (next.equals(start)) {
                        List<String> path = new ArrayList<>(List.of(start));
                        for (String p = at; !p.equals(start); p = parent.get(p)) {
                            path.add(1, p);
                        }
                        path.add(start);
                        return path;
                    }
                    if (!parent.containsKey(next)) {
                        parent.put(next, at);
                        queue.add(next);
                    }
                }
            }
            throw new IllegalStateException("no cycle through " + start + " in " + group);
        }

        /** Tarjan's strongly connected components, each in name order. */
        private List<Set<String>> stronglyConnected() {
            Map<String, Integer> index = new HashMap<>();
            Map<String, Integer> low = new HashMap<>();
            Deque<String> stack = new ArrayDeque<>();
            Set<String> onStack = new TreeSet<>();
            List<Set<String>> groups = new ArrayList<>();
            for (String p : edges.keySet()) {
                if (!index.containsKey(p)) {
                    connect(p, index, low, stack, onStack, groups);
                }
            }
            return groups;
        }

        private void connect(String v, Map<String, Integer> index, Map<String, Integer> low, Deque<String> stack,
                             Set<String> onStack, List<Set<String>> groups) {
            index.put(v, index.size());
            low.put(v, index.get(v));
            stack.push(v);
            onStack.add(v);
            for (String w : edges.get(v).keySet()) {
                if (!index.containsKey(w)) {
                    connect(w, index, low, stack, onStack, groups);
                    low.put(v, Math.min(low.get(v), low.get(w)));
                } else if (onStack.contains(w)) {
                    low.put(v, Math.min(low.get(v), index.get(w)));
                }
            }
            if (low.get(v).equals(index.get(v))) {
                Set<String> group = new TreeSet<>();
                String w;
                do {
                    w = stack.pop();
                    onStack.remove(w);
                    group.add(w);
                } while (!w.equals(v));
                groups.add(group);
            }
        }
    }
}
