package dev.tandem.runtime.cli;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.error.SafeText;
import dev.tandem.runtime.generate.Sampling;
import dev.tandem.runtime.compiler.Compiler;
import dev.tandem.runtime.compiler.DeviceGroup;
import dev.tandem.runtime.compiler.DeviceSource;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.Objective;
import dev.tandem.runtime.compiler.Plan;
import dev.tandem.runtime.compiler.PlanTrace;
import dev.tandem.runtime.compiler.Policy;
import dev.tandem.runtime.compiler.Pool;
import dev.tandem.runtime.compiler.Predictions;
import dev.tandem.runtime.compiler.Workload;
import dev.tandem.runtime.device.Devices;
import dev.tandem.runtime.profile.Calibrations;
import dev.tandem.runtime.profile.Calibrator;
import dev.tandem.runtime.profile.ProfileStore;
import dev.tandem.runtime.profile.ProfiledCosts;
import dev.tandem.runtime.run.BatchPlanRun;
import dev.tandem.runtime.run.PlanRun;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Compiles a plan, runs it on the devices it names (real or emulated), and verifies it:",
                "the generated ids against the single-device reference, and the measured (or emulated) time of",
                "every op against the plan's prediction. Exit 0 only when verified.",
                "With no arguments: the embedded model on the devices present here plus two emulated LP30s, under afd."})
final class RunCommand implements Callable<Integer> {
    /** The emulated chips the demo adds to whatever is present. */
    static final String DEMO_LPUS = "lp30*2";
    static final String DEMO_PROMPT = "In the beginning";

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = {"-m", "--model"}, paramLabel = "MODEL", description = "GGUF or llama2.c .bin file (default: the embedded model)")
    Path model;

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "llama2.c tokenizer.bin, or a GGUF whose vocabulary to use")
    Path tokenizer;

    @Option(names = "--pool", paramLabel = "POOL",
            description = "NAME[*COUNT][:KEY=VALUE,...],... of present devices and emulated LPUs (default: every present backend that computes, plus " + DEMO_LPUS + ")")
    String pool;

    @Option(names = "--policy", paramLabel = "NAME", defaultValue = "afd", description = "single, lpu-only, disagg, afd or auto (default ${DEFAULT-VALUE})")
    String policy;

    @Option(names = {"-p", "--prompt"}, paramLabel = "TEXT", description = "prompt text, encoded with BOS (default for a model with a vocabulary: \"" + DEMO_PROMPT + "\")")
    String text;

    @Option(names = "--prompt-ids", paramLabel = "IDS",
            description = {"the whole prompt as comma-separated ids (no BOS added); repeat it for several sequences,",
                    "which run as one batch"})
    List<String> ids;

    @Option(names = "--batch", paramLabel = "B",
            description = {"sequences run together (default: one per prompt); sequence s takes prompt s mod the prompts given,",
                    "and each is verified against its own single-stream reference"})
    Integer batch;

    @Option(names = "--no-micro-batches",
            description = "run a batch's decode steps whole, not as the two ping-ponging micro-batches afd plans")
    boolean noMicroBatches;

    @Option(names = {"-n", "--steps"}, paramLabel = "STEPS", defaultValue = "24", description = "tokens to generate (default ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--context", paramLabel = "C", description = "KV cache positions (default: prompt + steps)")
    Integer context;

    @Mixin
    SamplingOptions samplingOptions = new SamplingOptions();

    @Option(names = "--warmup", paramLabel = "N", defaultValue = "1",
            description = "untimed runs of the same request before the measured one, so the JIT has compiled the kernels (default ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--ids", description = "print only the generated ids, on one stdout line; the report goes to stderr")
    boolean printIds;

    @Option(names = "--json", description = {"print one JSON object on stdout: the plan, its predictions, every op's predicted",
            "and measured time, the ids and the verdict; the readable report goes to stderr"})
    boolean json;

    @Option(names = "--trace", paramLabel = "FILE", description = "write the plan's timeline as Chrome/Perfetto trace JSON")
    Path trace;

    @Option(names = "--calibrate", paramLabel = "WHEN", defaultValue = "${sys:tandem.calibrate:-auto}",
            description = {"auto: time a present device's ops on first use (see 'tandem calibrate'); never: use stored",
                    "profiles only, pricing an uncalibrated device by the roofline (default ${DEFAULT-VALUE})"})
    String calibrate;

    @Option(names = "--calibrate-point-limit", paramLabel = "SECONDS", defaultValue = "" + Calibrator.DEFAULT_POINT_LIMIT_SECONDS,
            description = {"with --calibrate auto: the most one point of a first-use calibration may take, as 'tandem calibrate",
                    "--point-limit' (default ${DEFAULT-VALUE}); the whole first use stops after " + (int) FIRST_USE_LIMIT_SECONDS + " s"})
    double calibratePointLimit;

    @Option(names = "--judge-timing",
            description = {"count the timing line in the verdict: VERIFIED then also needs the present devices' median",
                    "decode step within 25%% of its prediction (off by default: a loaded machine can push one run outside)"})
    boolean judgeTiming;

    @Override
    public Integer call() {
        if (printIds && json) {
            throw new ExitCodes.UsageException("give --ids or --json, not both: the JSON report holds the ids");
        }
        Outputs.writableFile(trace, "--trace");
        PrintWriter stdout = spec.commandLine().getOut();
        // With --ids or --json, stdout carries only what a program reads; the readable report goes to stderr.
        PrintWriter out = printIds || json ? spec.commandLine().getErr() : stdout;
        if (warmup < 0) {
            throw new ExitCodes.UsageException("--warmup must be 0 or more, got " + warmup);
        }
        if (steps < 1) {
            throw new ExitCodes.UsageException("--steps must be at least 1, got " + steps);
        }
        if (!calibrate.equals("auto") && !calibrate.equals("never")) {
            throw new ExitCodes.UsageException("--calibrate must be auto or never, got " + SafeText.quote(calibrate));
        }
        if (!(calibratePointLimit > 0) || !Double.isFinite(calibratePointLimit)) {
            throw new ExitCodes.UsageException("--calibrate-point-limit must be a positive number of seconds, got " + calibratePointLimit);
        }
        if (batch != null && (batch < 1 || batch > MAX_BATCH)) {
            throw new ExitCodes.UsageException("--batch must be in [1, " + MAX_BATCH + "], got " + batch);
        }
        Sampling sampling = samplingOptions.sampling(steps, false);
        try (Model m = Inputs.model(model, tokenizer, spec.commandLine().getErr())) {
            int[][] prompts = prompts(m);
            int[] prompt = prompts[0];
            int longest = java.util.Arrays.stream(prompts).mapToInt(p -> p.length).max().orElseThrow();
            int ctx = context != null ? context : Math.min(m.config().contextLength(), longest + steps);
            if (ctx < longest || ctx > m.config().contextLength()) {
                throw new ExitCodes.UsageException("--context " + ctx + ": must hold the prompt (" + longest
                        + " tokens) and be at most " + m.config().contextLength());
            }
            boolean batched = prompts.length > 1;
            Pool devices = Inputs.pool(pool != null ? pool : defaultPool());
            for (DeviceGroup g : devices.groups()) {
                if (g.source() == DeviceSource.CATALOG) {
                    throw new dev.tandem.runtime.device.DeviceUnavailableException("'" + g.name()
                            + "' is a catalog device: it plans but cannot run here; plan with 'tandem compile --pool "
                            + devices + "'");
                }
                if (g.source() == DeviceSource.PRESENT && g.count() > 1) {
                    throw new ExitCodes.UsageException("--pool " + g + ": the executor opens one " + g.name()
                            + " device; give " + g.name() + " without a count");
                }
            }
            ModelGraph graph = ModelGraph.of(m);
            if (calibrate.equals("auto")) {
                calibrateOnFirstUse(devices, graph, calibratePointLimit, spec.commandLine().getErr());
            }
            Compiler compiler = Compiler.withInstalledProviders();
            Workload workload = new Workload(prompts.length, longest, ctx);
            Plan plan = compiler.compile(graph, devices, workload, Policy.parse(policy), Objective.lowestTpot());
            if (trace != null) {
                try {
                    PlanTrace.write(plan, trace);
                } catch (IOException e) {
                    throw Outputs.cannotWrite("--trace", trace, e);
                }
            }
            printPlan(out, plan, m);
            out.flush();
            if (batched) {
                BatchPlanRun.Report report = BatchPlanRun.execute(m, plan, graph, compiler.costModel(), prompts, sampling, ctx, warmup,
                        !noMicroBatches);
                if (printIds) {
                    for (int[] seq : report.generated()) {
                        stdout.println(String.join(" ", java.util.Arrays.stream(seq).mapToObj(Integer::toString).toList()));
                    }
                    stdout.flush();
                } else if (json) {
                    stdout.println(RunReportJson.write(report, m.source()));
                    stdout.flush();
                }
                BatchRunReport.print(out, report, m);
                out.flush();
                return report.verified() ? ExitCodes.OK : ExitCodes.INTERNAL;
            }
            PlanRun.Report report = PlanRun.execute(m, plan, graph, compiler.costModel(), prompt, sampling, ctx, warmup, null);
            if (printIds) {
                StringBuilder line = new StringBuilder();
                for (int id : report.result().generatedIds()) {
                    line.append(line.isEmpty() ? "" : " ").append(id);
                }
                stdout.println(line);
                stdout.flush();
            } else if (json) {
                stdout.println(RunReportJson.write(report, m.source()));
                stdout.flush();
            }
            if (m.tokenizer().isPresent()) {
                out.println("output   " + GenerateCommand.printable(m.tokenizer().get().decode(report.result().generatedIds())));
            }
            printReport(out, report, judgeTiming, sampling);
            out.flush();
            return (judgeTiming ? report.verifiedWithTiming() : report.verified()) ? ExitCodes.OK : ExitCodes.INTERNAL;
        }
    }

    /** Every present backend that computes (never the null device), then the demo's emulated LPUs. */
    static String defaultPool() {
        String present = presentBackends();
        return present.isEmpty() ? DEMO_LPUS : present + "," + DEMO_LPUS;
    }

    /** Every present backend that computes, comma-separated (never the null device). */
    static String presentBackends() {
        List<String> names = new ArrayList<>();
        for (Devices.Probe p : Devices.probeAll()) {
            if (p.availability().available() && p.backend().priority() >= 0) {
                names.add(p.backend().name());
            }
        }
        return String.join(",", names);
    }

    /**
     * Times the ops of each present device in the pool that computes and has no profile on this machine
     * (or one without the model's weight formats), once per device, so the plan prices it from
     * measurements, not the roofline: the host cpu over its full grid, a device behind a driver
     * (OpenCL) over the coarse one ({@link Calibrator.Grid#forBackend}). Each is bounded by
     * {@link #FIRST_USE_LIMIT_SECONDS}: past it the device is priced by the roofline this run, with a
     * one-line note, and nothing is saved.
     */
    static void calibrateOnFirstUse(Pool pool, ModelGraph graph, double pointLimitSeconds, PrintWriter err) {
        Set<WeightFormat> formats = new LinkedHashSet<>(List.of(graph.format(), graph.embeddingFormat(), graph.outputFormat()));
        ProfileStore store = ProfileStore.shared();
        Set<String> done = new java.util.HashSet<>();
        for (DeviceGroup g : pool.groups()) {
            String key = ProfiledCosts.profileKey(g);
            if (g.source() != DeviceSource.PRESENT || !computes(g.name()) || !done.add(key)) {
                continue;
            }
            // The bar appears only when something is measured: ensure() reports its first step.
            ProgressBar[] bar = {null};
            Calibrations.Outcome outcome;
            try {
                outcome = Calibrations.ensure(store, g, formats, Calibrator.Grid.forBackend(g.name()), FIRST_USE_LIMIT_SECONDS,
                        pointLimitSeconds, (step, total, what) -> {
                            if (bar[0] == null) {
                                bar[0] = new ProgressBar(err, "calibrating " + key + " (first use; 'tandem calibrate --show' prints it)", total);
                            }
                            bar[0].step(step, total, what);
                        }, warning -> err.println("tandem: " + warning));
            } catch (Calibrator.TooSlowException e) {
                err.println();
                err.printf(Locale.ROOT, "tandem: calibrating %s took over %.0f s here; stopped, so %s is priced by the roofline this run"
                        + " ('tandem calibrate --device %s' measures it without a limit)%n", key, FIRST_USE_LIMIT_SECONDS, key, key);
                continue;
            }
            if (bar[0] != null) {
                bar[0].done();
            }
            if (outcome != Calibrations.Outcome.FOUND) {
                err.println("saved " + store.file(key));
            }
        }
        err.flush();
    }

    /** Whether a present backend computes (the null device only plans, so it has nothing to time). */
    private static boolean computes(String backend) {
        return Devices.probeAll().stream().anyMatch(p -> p.backend().name().equals(backend) && p.backend().priority() >= 0);
    }

    /** How long a first use may spend calibrating one device before the run goes on without it. */
    static final double FIRST_USE_LIMIT_SECONDS = 120;

    /** The most sequences one run takes: the executor's decode step holds one row per sequence. */
    static final int MAX_BATCH = 1024;

    /** The prompts given, repeated round-robin to --batch sequences. */
    private int[][] prompts(Model m) {
        List<int[]> given = new ArrayList<>();
        if (ids != null && !ids.isEmpty()) {
            if (text != null) {
                throw new ExitCodes.UsageException("give -p TEXT or --prompt-ids IDS, not both");
            }
            for (String csv : ids) {
                given.add(prompt(m, csv));
            }
        } else {
            given.add(prompt(m, null));
        }
        int[][] all = new int[batch != null ? batch : given.size()][];
        for (int s = 0; s < all.length; s++) {
            all[s] = given.get(s % given.size());
        }
        return all;
    }

    private int[] prompt(Model m, String csv) {
        int[] p;
        if (csv != null) {
            p = Inputs.parseIds(csv, "--prompt-ids");
        } else if (m.tokenizer().isPresent()) {
            p = m.encode(text != null ? text : DEMO_PROMPT);
            Inputs.warnUnknown(spec.commandLine().getErr(), m.tokenizer().get(), p);
        } else if (text != null) {
            throw new ExitCodes.UsageException(m.source() + " has no text vocabulary: use --prompt-ids, or --tokenizer FILE");
        } else {
            p = new int[] {1};
        }
        if (p.length == 0) {
            throw new ExitCodes.UsageException("the prompt is empty");
        }
        for (int id : p) {
            if (id < 0 || id >= m.config().vocabSize()) {
                throw new ExitCodes.UsageException("--prompt-ids: id " + id + " is outside the vocabulary [0, " + m.config().vocabSize() + ")");
            }
        }
        return p;
    }

    private static void printPlan(PrintWriter out, Plan plan, Model m) {
        Workload w = plan.workload();
        Predictions x = plan.predicted();
        out.printf(Locale.ROOT, "model    %s%n", m.source());
        out.printf(Locale.ROOT, "plan     %s (%s) on %s; prompt %d, context %d%n", plan.chosen(), plan.assignment(), plan.pool(),
                w.promptLen(), w.context());
        out.printf(Locale.ROOT, "         %s%n", plan.reason());
        out.printf(Locale.ROOT, "predicts TTFT %.3f ms, TPOT %.3f ms (at %d positions), %.1f tokens/s per user, %.4f J/token%n",
                x.ttftMs(), x.tpotMs(), w.context(), x.tokensPerSPerUser(), x.joulesPerToken());
        out.printf("costs    %s%n", String.join("; ", plan.costSources()));
    }

    private static void printReport(PrintWriter out, PlanRun.Report r, boolean judgeTiming, Sampling sampling) {
        out.println();
        out.println("devices");
        r.devices().forEach((label, name) -> out.printf("  %-14s %s%n", label, name));
        out.println();
        out.printf(Locale.ROOT, "%-8s %-26s %-12s %6s %14s %14s %8s  %s%n", "phase", "track", "op", "runs", "predicted", "measured",
                "meas/pred", "cycles (predicted = emulated?)");
        for (PlanRun.Line l : r.lines()) {
            String cycles = l.predictedCycles() < 0 ? (l.isLink() ? "host copy; link not emulated" : "wall clock")
                    : String.format(Locale.ROOT, "%d vs %d %s", l.predictedCycles(), l.measuredCycles(),
                    l.exact() ? "exact" : l.mustBeExact() ? "MISMATCH" : "(roofline op)");
            out.printf(Locale.ROOT, "%-8s %-26s %-12s %6d %11.3f ms %11.3f ms %8.2f  %s%n", RunReportJson.name(l.phase()), l.track(), l.what(), l.count(),
                    l.predictedSeconds() * 1e3, l.measuredSeconds() * 1e3,
                    l.predictedSeconds() > 0 ? l.measuredSeconds() / l.predictedSeconds() : Double.NaN, cycles);
        }
        if (!r.deviceReports().isEmpty()) {
            out.println();
            out.println("device reports (the whole session, warm-up runs included)");
            r.deviceReports().forEach((label, line) -> out.printf("  %-14s %s%n", label, line));
        }
        out.println();
        boolean ids = r.idsMatch();
        out.printf(Locale.ROOT, "verify   ids: %s (%d generated; reference: ReferenceForward on the host), prompt logits max |diff| %.2e%n",
                ids ? "equal to the reference" : "DIFFER from the reference", r.result().generatedIds().length, r.maxLogitDiff());
        out.println("         chosen by " + sampling.describe() + (sampling.isGreedy() ? "" : ": each run draws from its own logits with the same seed"));
        if (!ids) {
            out.println("         plan:      " + java.util.Arrays.toString(r.result().generatedIds()));
            out.println("         reference: " + java.util.Arrays.toString(r.referenceIds()));
        }
        out.printf(Locale.ROOT, "         emulated ops priced by lowered programs: %d of %d ran in exactly their predicted cycles%n", r.exactBlocks(),
                r.lines().stream().filter(PlanRun.Line::mustBeExact).mapToLong(PlanRun.Line::count).sum());
        if (r.timing() != null) {
            out.println("timing   " + r.timing().describe() + (judgeTiming ? "" : " (reported, not part of the verdict; --judge-timing counts it)"));
        }
        if (!r.kernels().isEmpty()) {
            out.println("         per decode step by kernel class, medians (a second run of the request, each kernel timed):");
            for (dev.tandem.runtime.run.KernelLine k : r.kernels()) {
                out.printf(Locale.ROOT, "           %-16s predicted %9.1f us  measured %9.1f us  %s%n", k.label(), k.predictedSeconds() * 1e6,
                        k.measuredSeconds() * 1e6, Double.isNaN(k.ratio()) ? "(not priced)" : String.format(Locale.ROOT, "%.2fx", k.ratio()));
            }
        }
        out.println("verdict  " + ((judgeTiming ? r.verifiedWithTiming() : r.verified()) ? "VERIFIED" : "NOT VERIFIED"));
    }
}
