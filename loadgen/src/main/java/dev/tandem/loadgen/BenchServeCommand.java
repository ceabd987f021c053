package dev.tandem.loadgen;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.error.ModelFormatException;
import dev.tandem.runtime.error.TandemException;
import dev.tandem.runtime.compiler.Compiler;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.Plan;
import dev.tandem.runtime.compiler.Pool;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DeviceRequest;
import dev.tandem.runtime.device.Devices;
import dev.tandem.runtime.engine.Engine;
import dev.tandem.runtime.engine.EngineConfig;
import dev.tandem.runtime.model.EmbeddedModel;
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
import java.util.concurrent.Callable;

@Command(name = "bench-serve", mixinStandardHelpOptions = true,
        description = {"Measures TTFT, TPOT, tokens/s per user and per system, and J/token over a sweep of load levels,",
                "against a server (--url) or an in-process engine (-m, default: the embedded model), and plots the",
                "measured frontier beside the compiler's prediction (docs/serving.md)."})
final class BenchServeCommand implements Callable<Integer> {
    static final int MAX_LEVELS = 64;
    static final int MAX_REQUESTS = 1_000_000;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = {"-m", "--model"}, paramLabel = "MODEL",
            description = "GGUF or llama2.c .bin file: run in-process, or with --url, what the server serves (for the prediction and the vocabulary)")
    Path model;

    @Option(names = "--url", paramLabel = "URL", description = "an OpenAI-compatible server, e.g. http://127.0.0.1:8080")
    String url;

    @Option(names = "--api-key", paramLabel = "KEY", description = "sent as Authorization: Bearer KEY with --url")
    String apiKey;

    static final class Load {
        @Option(names = "--concurrency", paramLabel = "N,...", split = ",", description = "clients per level (default 1,2,4,8)")
        List<Integer> concurrency;

        @Option(names = "--rate", paramLabel = "R,...", split = ",", description = "requests per second per level, Poisson arrivals")
        List<Double> rate;
    }

    @ArgGroup(exclusive = true)
    Load load;

    @Option(names = {"-n", "--requests"}, paramLabel = "N", defaultValue = "32", description = "requests per level (default ${DEFAULT-VALUE})")
    int requests;

    @Option(names = "--warmup", paramLabel = "N", defaultValue = "2", description = "requests run one at a time before the levels (default ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--prompt-len", paramLabel = "N|MIN:MAX", defaultValue = "32", description = "prompt tokens, fixed or uniform (default ${DEFAULT-VALUE})")
    String promptLen;

    @Option(names = "--output-len", paramLabel = "N|MIN:MAX", defaultValue = "32", description = "generated tokens, fixed or uniform (default ${DEFAULT-VALUE})")
    String outputLen;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "seed for prompts, lengths and arrivals (default ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--device", paramLabel = "NAME[:KEY=VALUE,...]", defaultValue = "cpu",
            description = "device the in-process engine runs on; with --url, the server's (its board power gives J/token) (default ${DEFAULT-VALUE})")
    String device;

    @Option(names = "--max-batch-tokens", paramLabel = "N", defaultValue = "256", description = "in-process engine's tokens per step (default ${DEFAULT-VALUE})")
    int maxBatchTokens;

    @Option(names = "--pool", paramLabel = "POOL", description = {"pool the prediction is compiled for, as tandem compile --pool (default: --device's name);",
            "in-process, the engine also steps the plan compiled for it (afd, disagg, LPU FFNs: the model split across its devices)"})
    String pool;

    @Option(names = "--policy", paramLabel = "NAME", defaultValue = "auto", description = "policy for the prediction (default ${DEFAULT-VALUE})")
    String policy;

    @Option(names = "--json", paramLabel = "FILE", description = "write the report as JSON")
    Path json;

    @Option(names = "--plot", paramLabel = "PREFIX", description = "write the frontier plot to PREFIX.png and PREFIX.svg")
    Path plot;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        List<Integer> clients = load == null || load.concurrency == null && load.rate == null ? List.of(1, 2, 4, 8)
                : load.concurrency;
        List<Double> rates = load == null ? null : load.rate;
        validate(clients, rates);
        LengthSpec prompt = LengthSpec.parse(promptLen, "--prompt-len");
        LengthSpec output = LengthSpec.parse(outputLen, "--output-len");
        writableParent(json, "--json");
        writableParent(plot, "--plot");
        DeviceRequest deviceRequest = DeviceRequest.parse(device);
        Pool predictionPool = PredictedFrontier.pool(pool != null ? pool : deviceRequest.name());

        if (url == null && pool != null && spec.commandLine().getParseResult().hasMatchedOption("--device")) {
            throw new TandemException("give --pool or --device, not both: in-process, the plan for --pool decides the devices");
        }
        boolean onPlan = url == null && pool != null;
        try (Model m = loadModel();
             Device d = onPlan ? null : Devices.open(deviceRequest.name().equals("auto") ? null : deviceRequest.name(), deviceRequest.options())) {
            if (prompt.max() + output.max() > m.config().contextLength()) {
                throw new TandemException("--prompt-len " + prompt + " plus --output-len " + output + " exceed the model's context of "
                        + m.config().contextLength() + " positions");
            }
            int maxClients = rates == null ? clients.stream().mapToInt(Integer::intValue).max().orElse(1) : 64;
            List<Integer> batches = rates == null ? clients.stream().distinct().sorted().toList() : List.of(1, 2, 4, 8, 16, 32, 64);
            ModelGraph graph = ModelGraph.of(m);
            List<PredictedFrontier.Point> predicted = PredictedFrontier.predict(graph, predictionPool, policy, batches,
                    prompt.mean(), output.mean());
            List<Sweep.Request> work = Sweep.draw(requests, prompt, output, m.config().vocabSize(), seed);
            // In-process on --pool: the plan for the widest level, whose placement the engine steps at every level.
            Plan plan = onPlan ? PredictedFrontier.plan(Compiler.withInstalledProviders(), graph, predictionPool, policy, maxClients,
                    prompt.mean(), output.mean()) : null;
            double watts = plan != null ? boardWatts(plan) : d.spec().boardPowerWatts();
            String modelName = model == null ? EmbeddedModel.NAME : model.getFileName().toString();
            try (LoadTarget target = url != null ? OpenAiTarget.connect(url, apiKey)
                    : engineTarget(m, d, plan, maxClients, prompt, output)) {
                Sweep sweep = new Sweep(target, work, seed, watts);
                sweep.warmUp(warmup);
                List<LevelReport> levels = new ArrayList<>();
                out.printf(Locale.ROOT, "bench-serve: %s, %s, prompt %s, output %s, %d requests per level%n", modelName,
                        target.describe(), prompt, output, requests);
                out.printf(Locale.ROOT, "%-16s %6s %9s %9s %9s %9s %9s %9s %11s %11s %9s%n", "level", "failed", "TTFT p50", "p90", "p99",
                        "TPOT p50", "p90", "p99", "tok/s/user", "tok/s", "J/token");
                int count = rates == null ? clients.size() : rates.size();
                for (int i = 0; i < count; i++) {
                    LevelReport level = rates == null ? sweep.atConcurrency(clients.get(i)) : sweep.atRate(rates.get(i));
                    levels.add(level);
                    printLevel(out, level);
                }
                SweepReport report = new SweepReport(url == null ? "engine" : url, modelName,
                        plan != null ? ((EngineTarget) target).deviceName() : d.spec().name(), watts,
                        predictionPool.toString(), prompt.toString(), output.toString(), requests, seed, levels, predicted);
                write(report);
                printPrediction(out, predicted);
                if (target instanceof EngineTarget e && e.planSummary() != null) {
                    out.println(e.planSummary());
                }
            }
        }
        return 0;
    }

    private void validate(List<Integer> clients, List<Double> rates) {
        if (requests < 1 || requests > MAX_REQUESTS) {
            throw new TandemException("--requests " + requests + ": must be in [1, " + MAX_REQUESTS + "]");
        }
        if (warmup < 0) {
            throw new TandemException("--warmup " + warmup + ": must be >= 0");
        }
        if (maxBatchTokens < 1) {
            throw new TandemException("--max-batch-tokens " + maxBatchTokens + ": must be >= 1");
        }
        if (rates != null) {
            if (rates.isEmpty() || rates.size() > MAX_LEVELS || rates.stream().anyMatch(r -> !(r > 0) || r.isInfinite())) {
                throw new TandemException("--rate " + rates + ": give 1 to " + MAX_LEVELS + " positive, finite rates");
            }
        } else if (clients.isEmpty() || clients.size() > MAX_LEVELS || clients.stream().anyMatch(c -> c < 1 || c > 4096)) {
            throw new TandemException("--concurrency " + clients + ": give 1 to " + MAX_LEVELS + " levels, each in [1, 4096]");
        }
        if (apiKey != null && url == null) {
            throw new TandemException("--api-key needs --url");
        }
    }

    private static void writableParent(Path file, String flag) {
        if (file == null) {
            return;
        }
        Path parent = file.toAbsolutePath().getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            throw new TandemException(flag + " " + file + ": the directory " + parent + " does not exist");
        }
    }

    private Model loadModel() {
        if (model == null) {
            return Model.embedded();
        }
        if (!Files.isRegularFile(model) || !Files.isReadable(model)) {
            throw new ModelFormatException(model, "not a readable file");
        }
        return Model.load(model);
    }

    /** Board power of every device the plan uses: what J/token charges, as the compiler's figure does. */
    private static double boardWatts(Plan plan) {
        return plan.layouts().values().stream().mapToDouble(l -> l.devicesUsed() * l.group().spec().boardPowerWatts()).sum();
    }

    /**
     * An engine sized for the sweep (every client's sequence fits, and contexts are no longer than a
     * request needs), on device d, or on plan's placement when there is one.
     */
    private LoadTarget engineTarget(Model m, Device d, Plan plan, int clients, LengthSpec prompt, LengthSpec output) {
        // Whole blocks, so the engine's default block size fits, but no longer than the model allows.
        EngineConfig defaults = EngineConfig.defaults(m.config().contextLength());
        int block = defaults.blockSize();
        int context = Math.min(m.config().contextLength(), (prompt.max() + output.max() + block - 1) / block * block);
        EngineConfig config = defaults.contextLength(context).blockSize(Math.min(block, context)).maxSequences(clients).maxBatchTokens(maxBatchTokens)
                .queueCapacity(Math.max(clients, requests));
        if (plan != null) {
            Engine engine = Engine.open(m, plan, config);
            return new EngineTarget(engine, "engine on plan " + plan.chosen() + " (" + plan.roles() + ")");
        }
        return new EngineTarget(Engine.open(m, d, config), "engine on " + d.spec().name());
    }

    private void write(SweepReport report) throws IOException {
        if (json != null) {
            report.write(json);
        }
        if (plot != null) {
            FrontierPlot.write(report, plot);
        }
    }

    private static void printLevel(PrintWriter out, LevelReport l) {
        Percentiles.Summary t = l.ttftMs();
        Percentiles.Summary p = l.tpotMs();
        out.printf(Locale.ROOT, "%-16s %6d %9s %9s %9s %9s %9s %9s %11.1f %11.1f %9.4f%n", l.label(), l.failed(), ms(t.p50()),
                ms(t.p90()), ms(t.p99()), ms(p.p50()), ms(p.p90()), ms(p.p99()), l.tokensPerSPerUser(), l.tokensPerS(), l.joulesPerToken());
        if (l.firstError() != null) {
            out.println("  first failure: " + l.firstError());
        }
        out.flush();
    }

    private static void printPrediction(PrintWriter out, List<PredictedFrontier.Point> predicted) {
        out.println("predicted (tandem compile):");
        for (PredictedFrontier.Point p : predicted) {
            if (p.error() != null) {
                out.printf(Locale.ROOT, "  batch %-4d %s%n", p.batch(), p.error());
            } else {
                out.printf(Locale.ROOT, "  batch %-4d %-8s TPOT %9.3f ms  %11.1f tok/s/user  %11.1f tok/s  %9.4f J/token%n", p.batch(),
                        p.policy(), p.tpotMs(), p.tokensPerSPerUser(), p.tokensPerS(), p.joulesPerToken());
            }
        }
    }

    private static String ms(Double v) { return v == null ? "-" : String.format(Locale.ROOT, "%.2f", v); }
}
