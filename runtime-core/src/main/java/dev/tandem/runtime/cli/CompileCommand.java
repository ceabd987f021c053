package dev.tandem.runtime.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.error.TandemException;
import dev.tandem.runtime.compiler.Compiler;
import dev.tandem.runtime.compiler.Frontier;
import dev.tandem.runtime.compiler.FrontierPoint;
import dev.tandem.runtime.compiler.ServingFormat;
import dev.tandem.runtime.compiler.ServingWorkload;
import dev.tandem.runtime.compiler.MemoryPlan;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.ModelShapes;
import dev.tandem.runtime.compiler.Objective;
import dev.tandem.runtime.compiler.Plan;
import dev.tandem.runtime.compiler.PlanTrace;
import dev.tandem.runtime.compiler.Policy;
import dev.tandem.runtime.compiler.Pool;
import dev.tandem.runtime.compiler.Predictions;
import dev.tandem.runtime.compiler.Workload;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "compile", mixinStandardHelpOptions = true,
        description = "Places a model on a device pool, schedules it and predicts TTFT, TPOT, tokens/s and J/token.")
final class CompileCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    static final class Source {
        @Option(names = {"-m", "--model"}, paramLabel = "MODEL", description = "GGUF or llama2.c .bin file")
        Path model;

        @Option(names = "--shape", paramLabel = "NAME", description = "built-in shape: llama-2-7b, llama-2-70b, llama-3.2-1b, llama-3-8b, llama-3-70b, llama-3.1-405b, mixtral-8x7b")
        String shape;
    }

    @ArgGroup(multiplicity = "1")
    Source source;

    @Option(names = "--weights", paramLabel = "FORMAT", defaultValue = "f16", description = "weight format of a --shape: f32, f16, bf16, q8_0, q4_0, "
            + "or (with --workload, catalog GPUs only) fp8, nvfp4 (default ${DEFAULT-VALUE})")
    String weights;

    @Option(names = "--kv-cache", paramLabel = "FORMAT", defaultValue = "f16", description = "KV cache format for --workload: f16 or fp8 (default ${DEFAULT-VALUE})")
    String kvCache;

    @Option(names = "--workload", paramLabel = "ISL:OSL", description = "predict the continuous-batching frontier for requests of ISL prompt and OSL output tokens")
    String workload;

    @Option(names = "--sweep", description = "with --workload: print every batch size and layout priced, not just the Pareto frontier")
    boolean sweep;

    @Option(names = "--pool", paramLabel = "POOL", required = true,
            description = "NAME[*COUNT][:KEY=VALUE,...],... e.g. h100*8,lp30*64 or h100,lp30*64:clockHz=1.1e9")
    String pool;

    @Option(names = "--policy", paramLabel = "NAME", defaultValue = "auto", description = "single, lpu-only, disagg, afd or auto (default ${DEFAULT-VALUE})")
    String policy;

    @Option(names = "--batch", paramLabel = "B", defaultValue = "1", description = "concurrent sequences (default ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--prompt-len", paramLabel = "P", defaultValue = "512", description = "prompt tokens per sequence (default ${DEFAULT-VALUE})")
    int promptLen;

    @Option(names = "--context", paramLabel = "C", defaultValue = "4096", description = "positions per sequence; TPOT is for the last (default ${DEFAULT-VALUE})")
    int context;

    @Option(names = "--min-user-tps", paramLabel = "X", description = "auto maximises system tokens/s at or above X tokens/s per user (default: auto minimises TPOT)")
    Double minUserTps;

    @Option(names = "--json", description = "print one JSON object: predicted, placement, memory, alternatives")
    boolean json;

    @Option(names = "--trace", paramLabel = "FILE", description = "write the timeline (every device stage and link) as Chrome/Perfetto trace JSON")
    Path trace;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Outputs.writableFile(trace, "--trace");
        if (batch < 1 || promptLen < 1 || context < promptLen) {
            throw new ExitCodes.UsageException("need --batch >= 1 and 1 <= --prompt-len <= --context, got " + batch + ", "
                    + promptLen + ", " + context);
        }
        if (minUserTps != null && minUserTps <= 0) {
            throw new ExitCodes.UsageException("--min-user-tps must be positive, got " + minUserTps);
        }
        if (sweep && workload == null) {
            throw new ExitCodes.UsageException("--sweep needs --workload ISL:OSL");
        }
        var parsed = spec.commandLine().getParseResult();
        if (workload != null) {
            for (String flag : List.of("--batch", "--prompt-len", "--context", "--trace")) {
                if (parsed.hasMatchedOption(flag)) {
                    throw new ExitCodes.UsageException(flag + " does not apply with --workload (the frontier sweeps batch sizes; "
                            + "ISL:OSL sets the lengths)");
                }
            }
            return frontier(out);
        }
        if (parsed.hasMatchedOption("--kv-cache")) {
            throw new ExitCodes.UsageException("--kv-cache needs --workload ISL:OSL");
        }
        if (ServingFormat.planOnly(weights).isPresent()) {
            throw new ExitCodes.UsageException("--weights " + weights + " is known to the batched GPU model only; add --workload ISL:OSL");
        }
        Workload workload = new Workload(batch, promptLen, context);
        Policy asked = Policy.parse(policy);
        Objective objective = minUserTps == null ? Objective.lowestTpot() : Objective.maxThroughput(minUserTps);
        Pool devices = Inputs.pool(pool);
        ModelGraph graph = graph();
        Compiler compiler = Compiler.withInstalledProviders();

        Plan plan = compiler.compile(graph, devices, workload, asked, objective);
        Map<Policy, Object> alternatives = new LinkedHashMap<>();
        for (Policy p : List.of(Policy.SINGLE, Policy.LPU_ONLY, Policy.DISAGG, Policy.AFD, Policy.AUTO)) {
            try {
                alternatives.put(p, p == asked ? plan : compiler.compile(graph, devices, workload, p, objective));
            } catch (TandemException e) {
                alternatives.put(p, e.getMessage());
            }
        }
        if (trace != null) {
            try {
                PlanTrace.write(plan, trace);
            } catch (IOException e) {
                throw Outputs.cannotWrite("--trace", trace, e);
            }
        }
        if (json) {
            printJson(out, plan, alternatives);
        } else {
            printTable(out, plan, alternatives);
        }
        return ExitCodes.OK;
    }

    /** `--workload`: the predicted frontier instead of one plan. */
    private int frontier(PrintWriter out) {
        ServingWorkload w = ServingWorkload.parse(workload, "--workload");
        ServingFormat kv = ServingFormat.parseKvCache(kvCache);
        Policy asked = Policy.parse(policy);
        Pool devices = Inputs.pool(pool);
        var planOnly = source.shape != null ? ServingFormat.planOnly(weights) : java.util.Optional.<ServingFormat>empty();
        ModelGraph graph = planOnly.isPresent() ? ModelShapes.shape(source.shape) : graph();
        ServingFormat format = planOnly.orElse(ServingFormat.of(graph.format()));
        Frontier f = Compiler.withInstalledProviders().frontier(graph, devices, asked, w, format, kv);
        var best = minUserTps == null ? java.util.Optional.<FrontierPoint>empty() : f.best(minUserTps);
        if (minUserTps != null && best.isEmpty()) {
            throw new dev.tandem.runtime.compiler.PolicyException(String.format(Locale.ROOT,
                    "no batch of %s on %s reaches %.1f tokens/s per user for %s", graph.name(), pool, minUserTps, w));
        }
        if (json) {
            FrontierOutput.json(out, f, best);
        } else {
            FrontierOutput.table(out, f, sweep, best);
        }
        return ExitCodes.OK;
    }

    private ModelGraph graph() {
        if (source.shape != null) {
            WeightFormat format;
            try {
                format = WeightFormat.valueOf(weights.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new ExitCodes.UsageException("--weights '" + weights + "' is not one of f32, f16, bf16, q8_0, q4_0, fp8, nvfp4");
            }
            return ModelShapes.shape(source.shape).withFormat(format);
        }
        try (Model m = Inputs.model(source.model, null)) {
            return ModelGraph.of(m);
        }
    }

    private void printJson(PrintWriter out, Plan plan, Map<Policy, Object> alternatives) {
        ObjectMapper mapper = new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
                .enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = mapper.valueToTree(plan);
        root.remove("timeline");
        ArrayNode alts = root.putArray("alternatives");
        alternatives.forEach((p, r) -> {
            ObjectNode a = alts.addObject().put("policy", p.cliName());
            if (r instanceof Plan other) {
                a.put("chosen", other.chosen()).put("assignment", other.assignment()).put("batch", other.workload().batch());
                a.set("predicted", mapper.valueToTree(other.predicted()));
            } else {
                a.put("error", (String) r);
            }
        });
        try {
            out.println(mapper.writeValueAsString(root));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void printTable(PrintWriter out, Plan plan, Map<Policy, Object> alternatives) {
        Workload w = plan.workload();
        out.printf(Locale.ROOT, "model %s (%s), pool %s, batch %d, prompt %d, context %d%n%n", plan.model(), weights,
                plan.pool(), w.batch(), w.promptLen(), w.context());
        out.printf(Locale.ROOT, "%-9s %-9s %10s %10s %12s %12s %10s  %s%n", "policy", "is", "TTFT ms", "TPOT ms",
                "tok/s/user", "tok/s", "J/token", "assignment");
        alternatives.forEach((p, r) -> {
            String mark = p.cliName().equals(plan.policy()) ? "*" : " ";
            if (r instanceof Plan o) {
                Predictions x = o.predicted();
                out.printf(Locale.ROOT, "%-9s %-9s %10.2f %10.3f %12.1f %12.1f %10.4f  %s%s%n", mark + p.cliName(), o.chosen(),
                        x.ttftMs(), x.tpotMs(), x.tokensPerSPerUser(), x.tokensPerS(), x.joulesPerToken(), o.assignment(),
                        o.workload().batch() != w.batch() ? " (batch " + o.workload().batch() + ")" : "");
            } else {
                out.printf(Locale.ROOT, "%-9s %-9s %s%n", mark + p.cliName(), "-", r);
            }
        });
        out.printf("%n* %s: %s%n%nmemory:%n", plan.policy(), plan.reason());
        for (MemoryPlan.Entry e : plan.memory().groups()) {
            out.printf(Locale.ROOT, "  %-14s %4d devices (tp %d x %d stages)  weights %.2f GB  kv %.2f GB  per device %.2f of %.2f GB%n",
                    e.group(), e.devicesUsed(), e.tensorParallel(), e.stages(), e.weightBytes() / 1e9, e.kvBytes() / 1e9,
                    e.bytesPerDevice() / 1e9, e.capacityBytes() / 1e9);
        }
        out.printf("costs: %s%n", String.join("; ", plan.costSources()));
    }
}
