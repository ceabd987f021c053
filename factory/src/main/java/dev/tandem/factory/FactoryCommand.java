package dev.tandem.factory;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.error.TandemException;
import dev.tandem.runtime.compiler.Catalog;
import dev.tandem.runtime.compiler.DeviceGroup;
import dev.tandem.runtime.compiler.DeviceSource;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.ModelShapes;
import dev.tandem.runtime.device.DeviceKind;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

@Command(name = "factory", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Plans a power-limited token factory: each configuration's tokens/s per user against tokens/s per MW, "
                + "the revenue-maximising allocation of the power over price tiers, and the best LPU share.",
                "Figures rest on the compiler's current performance model (tandem compile); see docs/factory.md."})
final class FactoryCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    static final class Source {
        @Option(names = {"-m", "--model"}, paramLabel = "MODEL", description = "GGUF or llama2.c .bin file")
        Path model;

        @Option(names = "--shape", paramLabel = "NAME", description = "built-in shape, e.g. llama-3-70b")
        String shape;
    }

    @ArgGroup(multiplicity = "1")
    Source source;

    @Option(names = "--weights", paramLabel = "FORMAT", defaultValue = "f16", description = "weight format of a --shape: f32, f16, bf16, q8_0, q4_0 (default ${DEFAULT-VALUE})")
    String weights;

    @Option(names = "--power", paramLabel = "POWER", required = true, description = "the site's facility power: 1GW, 20MW, 500kW, 2e6W")
    String power;

    @Option(names = "--devices", paramLabel = "NAMES", required = true, split = ",", description = "catalog GPUs and LPUs, e.g. rubin,lp30 or h100,b200,rubin,lp30")
    List<String> devices;

    @Option(names = "--workload", paramLabel = "ISL:OSL", defaultValue = "1024:1024", description = "input and output tokens per request (default ${DEFAULT-VALUE})")
    String workload;

    @Option(names = "--tiers", paramLabel = "FILE", description = "price tiers (YAML or JSON); default: free, $3, $6, $45, $150 per M tokens at 10, 40, 100, 300, 1000 tokens/s per user")
    Path tiersFile;

    @Option(names = "--split", paramLabel = "PERCENT", split = ",", description = "a fixed split: percent of the power per tier, in the tiers' order, e.g. 25,25,25,25,0 (default: optimise)")
    List<Double> split;

    @Option(names = "--lpu-share", paramLabel = "SHARES", split = ",", defaultValue = "0,0.1,0.2,0.25,0.3,0.4,0.5",
            description = "shares of the power on LPU nodes to try (default ${DEFAULT-VALUE})")
    List<Double> lpuShares;

    @Option(names = "--pue", paramLabel = "X", defaultValue = "" + Facility.DEFAULT_PUE, description = "facility power / IT power (default ${DEFAULT-VALUE})")
    double pue;

    @Option(names = "--gpu-node-host-w", paramLabel = "W", defaultValue = "" + Facility.DEFAULT_GPU_NODE_HOST_W,
            description = "per GPU node beyond its GPUs: CPUs, memory, NICs, NVSwitch, fans (default ${DEFAULT-VALUE}: DGX H100 10.2 kW max - 8 x 700 W)")
    double gpuNodeHostWatts;

    @Option(names = "--lpu-node-host-w", paramLabel = "W", defaultValue = "" + Facility.DEFAULT_LPU_NODE_HOST_W,
            description = "per LPU node beyond its chips (default ${DEFAULT-VALUE}, assumed)")
    double lpuNodeHostWatts;

    @Option(names = "--network-w-per-node", paramLabel = "W", defaultValue = "" + Facility.DEFAULT_NETWORK_W_PER_NODE,
            description = "scale-out switches per node (default ${DEFAULT-VALUE})")
    double networkWattsPerNode;

    @Option(names = "--allow-unreachable", description = "plan without tiers no configuration reaches instead of failing (exit 4)")
    boolean allowUnreachable;

    @Option(names = "--json", description = "print one JSON object: frontier points, allocations, revenue")
    boolean json;

    @Option(names = "--plot", paramLabel = "DIR", description = "write factory-frontier and factory-revenue as PNG and SVG into DIR")
    Path plotDir;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        double watts = parsePower(power);
        RequestShape requests = parseWorkload(workload);
        Facility facility;
        try {
            facility = new Facility(pue, gpuNodeHostWatts, lpuNodeHostWatts, networkWattsPerNode);
        } catch (IllegalArgumentException e) {
            throw new TandemException(e.getMessage());
        }
        List<Double> shares = shares(lpuShares);
        if (plotDir != null) {
            try {
                Files.createDirectories(plotDir);
            } catch (IOException e) {
                throw new TandemException("--plot: cannot create directory " + plotDir + ": " + e.getMessage());
            }
        }
        List<String> gpus = new ArrayList<>(), lpus = new ArrayList<>();
        classify(devices, gpus, lpus);
        List<Tier> tiers = tiersFile == null ? Tiers.defaults() : Tiers.read(tiersFile);
        double[] fixedSplit = split(split, tiers);
        ModelGraph graph = graph();

        Planner planner = new Planner(CompilerFrontierSource.installed(), facility);
        List<ConfigurationFrontier> frontiers = planner.frontiers(graph, requests, gpus, lpus);
        Planner.FactoryPlan plan = planner.plan(frontiers, watts, tiers, shares, fixedSplit, allowUnreachable);
        FactoryReport report = new FactoryReport(graph.name(), weights, requests, facility, planner.source().name(), plan);
        if (plotDir != null) {
            try {
                FactoryPlots.write(report, plotDir);
            } catch (IOException e) {
                throw new TandemException("--plot: cannot write into " + plotDir + ": " + e.getMessage());
            }
        }
        if (json) {
            out.println(report.json());
        } else {
            report.printTable(out);
        }
        return 0;
    }

    private static final Pattern POWER = Pattern.compile("\\s*([-+]?[0-9]*\\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\\s*([kKmMgG]?[wW])?\\s*");

    /** "1GW", "20MW", "500kW", "2e6W", "2e6" (watts). */
    static double parsePower(String text) {
        Matcher m = POWER.matcher(text);
        if (!m.matches()) {
            throw new TandemException("--power '" + text + "' is not a power; e.g. 1GW, 20MW, 500kW");
        }
        double value = Double.parseDouble(m.group(1));
        String unit = m.group(2) == null ? "w" : m.group(2).toLowerCase(Locale.ROOT);
        double scale = switch (unit) {
            case "kw" -> 1e3;
            case "mw" -> 1e6;
            case "gw" -> 1e9;
            default -> 1;
        };
        double watts = value * scale;
        if (!(watts > 0) || !Double.isFinite(watts)) {
            throw new TandemException("--power must be positive, got '" + text + "'");
        }
        return watts;
    }

    static RequestShape parseWorkload(String text) {
        Matcher m = Pattern.compile("\\s*([0-9]{1,9})\\s*:\\s*([0-9]{1,9})\\s*").matcher(text);
        if (!m.matches() || Integer.parseInt(m.group(1)) < 1 || Integer.parseInt(m.group(2)) < 1) {
            throw new TandemException("--workload '" + text + "' is not ISL:OSL with both at least 1, e.g. 1024:1024");
        }
        return new RequestShape(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)));
    }

    private static List<Double> shares(List<Double> asked) {
        TreeSet<Double> out = new TreeSet<>();
        for (double s : asked) {
            if (!(s >= 0 && s <= 1)) {
                throw new TandemException("--lpu-share values must be between 0 and 1, got " + s);
            }
            out.add(s);
        }
        return List.copyOf(out);
    }

    private static double[] split(List<Double> percent, List<Tier> tiers) {
        if (percent == null) {
            return null;
        }
        if (percent.size() != tiers.size()) {
            throw new TandemException("--split needs one percentage per tier (" + tiers.size() + "), got " + percent.size());
        }
        double[] out = new double[percent.size()];
        double sum = 0;
        for (int i = 0; i < out.length; i++) {
            double p = percent.get(i);
            if (!(p >= 0 && p <= 100)) {
                throw new TandemException("--split percentages must be between 0 and 100, got " + p);
            }
            out[i] = p / 100;
            sum += p;
        }
        if (sum > 100 + 1e-9) {
            throw new TandemException("--split adds up to " + sum + "%, more than 100");
        }
        return out;
    }

    /** Sorts the names into GPUs and LPUs by their catalog kind; anything else is a usage error. */
    static void classify(List<String> names, List<String> gpus, List<String> lpus) {
        Catalog catalog = new Catalog();
        for (String raw : names) {
            String name = raw.trim().toLowerCase(Locale.ROOT);
            if (!catalog.knows(name)) {
                throw new TandemException("--devices: unknown device '" + raw.trim() + "'; known: " + String.join(", ", catalog.names()));
            }
            if (gpus.contains(name) || lpus.contains(name)) {
                continue;
            }
            DeviceGroup group = catalog.resolve(name, 1);
            if (group.source() == DeviceSource.PRESENT) {
                throw new TandemException("--devices: '" + name + "' is a device on this machine; the factory plans catalog GPUs and LPU presets");
            }
            DeviceKind kind = group.spec().kind();
            switch (kind) {
                case GPU -> gpus.add(name);
                case LPU -> lpus.add(name);
                default -> throw new TandemException("--devices: '" + name + "' is a " + kind + "; the factory plans GPUs and LPUs");
            }
        }
    }

    private ModelGraph graph() {
        if (source.shape != null) {
            WeightFormat format;
            try {
                format = WeightFormat.valueOf(weights.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new TandemException("--weights '" + weights + "' is not one of f32, f16, bf16, q8_0, q4_0");
            }
            return ModelShapes.shape(source.shape).withFormat(format);
        }
        try (Model m = Model.load(source.model)) {
            return ModelGraph.of(m);
        }
    }
}
