package dev.tandem.runtime.cli;

import dev.tandem.kernels.ColdStart;
import dev.tandem.kernels.Parallel;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.Devices;
import dev.tandem.runtime.engine.EngineConfig;
import dev.tandem.runtime.exec.ReferenceForward;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * llama-bench's measurement on the CPU kernels: prompt processing (pp: prefill of p tokens from an
 * empty context) and text generation (tg: n decode steps from an empty context), each run untimed
 * until the JIT has settled ({@code --warmup} seconds, at least once) and then r times, reported as
 * tokens/s mean and sample standard deviation.
 *
 * <p>Why more than llama-bench's single warm-up run: llama.cpp is compiled ahead of time, while a
 * JVM's kernels reach C2 during the first runs. With one warm-up, the first timed pp256 of
 * stories110M F16 ran at 300-440 tok/s and the third at 700-850 (docs/benchmarks.md, "F16 on Zen 5"),
 * so a one-repetition comparison measured the compiler, not the kernels. With 2 s of warm-up the
 * first timed runs were still at 330-390 (then 700-850); with 5 s the first run was within the
 * VM's own spread of the others (2026-12-01, idle).
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Measures prompt processing (pp) and generation (tg) speed like llama.cpp's llama-bench.",
                "Tokens are random ids (fixed seed); each test runs untimed for --warmup seconds (at least once),",
                "then -r times."})
final class BenchCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = {"-m", "--model"}, paramLabel = "MODEL", required = true, description = "GGUF or llama2.c .bin file")
    Path model;

    @Option(names = {"-p", "--n-prompt"}, paramLabel = "P", defaultValue = "512",
            description = "prompt tokens per pp test, 0 to skip it (default ${DEFAULT-VALUE})")
    int prompt;

    @Option(names = {"-n", "--n-gen"}, paramLabel = "N", defaultValue = "128",
            description = "generated tokens per tg test, 0 to skip it (default ${DEFAULT-VALUE})")
    int gen;

    @Option(names = {"-r", "--repetitions"}, paramLabel = "R", defaultValue = "5",
            description = "measured repetitions per test (default ${DEFAULT-VALUE})")
    int repetitions;

    @Option(names = {"-w", "--warmup"}, paramLabel = "SECONDS", defaultValue = "5",
            description = "untimed runs of each test until this much time has passed, at least one (default ${DEFAULT-VALUE})")
    double warmup;

    @Option(names = {"-t", "--threads"}, paramLabel = "T",
            description = "kernel threads, the calling one included (default: tandem.threads, else all processors)")
    Integer threads;

    @Option(names = "--json", description = "print a JSON array, one object per test, instead of the table")
    boolean json;

    @Option(names = {"-b", "--batch"}, paramLabel = "B", split = ",",
            description = {"batch sizes (e.g. 1,2,4,8): like llama-batched-bench, B requests of -p prompt tokens each",
                    "generate -n tokens together on the engine (cpu); reports tokens/s per system and per user"})
    int[] batches;

    @Override
    public Integer call() throws Exception {
        check(prompt >= 0, "-p " + prompt + ": must be >= 0");
        check(gen >= 0, "-n " + gen + ": must be >= 0");
        check(prompt > 0 || gen > 0, "-p 0 and -n 0: nothing to measure");
        check(repetitions >= 1, "-r " + repetitions + ": must be >= 1");
        check(threads == null || threads >= 1, "-t " + threads + ": must be >= 1");
        check(warmup >= 0 && warmup <= MAX_WARMUP_SECONDS, "--warmup " + warmup + ": must be in [0, " + MAX_WARMUP_SECONDS + "] seconds");
        PrintWriter out = spec.commandLine().getOut();
        // Warm figures: no cold-start twins (each test's untimed warm-up run compiles the vector forms).
        ColdStart.endTwins();
        if (batches != null) {
            return batched(out);
        }
        try (Model m = Inputs.model(model, null)) {
            int context = m.config().contextLength();
            int needed = Math.max(prompt, gen);
            check(needed <= context, "-p " + prompt + " -n " + gen + ": the model's context holds only " + context + " positions");
            if (threads != null) {
                Parallel.setThreads(threads);
            }
            BenchReport.ModelInfo info = BenchReport.ModelInfo.of(m, model);
            ReferenceForward forward = new ReferenceForward(m.config(), m.weights(), m.ropeInvFreq(), needed,
                    ReferenceForward.HOST_PREFILL_CHUNK);
            int[] tokens = randomTokens(needed, m.config().vocabSize());
            List<BenchReport.Test> tests = new ArrayList<>();
            if (prompt > 0) {
                int[] p = java.util.Arrays.copyOf(tokens, prompt);
                tests.add(new BenchReport.Test("pp" + prompt, prompt, 0, measure(prompt, () -> forward.prefill(p, 0))));
            }
            if (gen > 0) {
                tests.add(new BenchReport.Test("tg" + gen, 0, gen, measure(gen, () -> {
                    for (int pos = 0; pos < gen; pos++) {
                        forward.forward(tokens[pos], pos);
                    }
                })));
            }
            BenchReport report = new BenchReport(info, Parallel.threads(), tests);
            out.print(json ? report.json() : report.table());
            out.flush();
        }
        return ExitCodes.OK;
    }

    private Integer batched(PrintWriter out) {
        check(prompt >= 1, "-p " + prompt + ": a batch run needs a prompt of at least 1 token");
        check(gen >= 2, "-n " + gen + ": a batch run needs at least 2 generated tokens (the first ends the prompt phase)");
        for (int b : batches) {
            check(b >= 1 && b <= EngineConfig.MAX_SEQUENCES, "-b " + b + ": must be in [1, " + EngineConfig.MAX_SEQUENCES + "]");
        }
        try (Model m = Inputs.model(model, null); Device cpu = Devices.open("cpu")) {
            int context = m.config().contextLength();
            check(prompt + gen <= context, "-p " + prompt + " -n " + gen + ": the model's context holds only " + context + " positions");
            if (threads != null) {
                Parallel.setThreads(threads);
            }
            List<BatchBench.Result> results = BatchBench.run(m, cpu, batches, prompt, gen, repetitions, warmup,
                    randomTokens(prompt + 31 * Arrays.stream(batches).max().orElse(1), m.config().vocabSize()));
            out.print(json ? BatchBench.json(results, BenchReport.ModelInfo.of(m, model), Parallel.threads())
                    : BatchBench.table(results, Parallel.threads()));
            out.flush();
        }
        return ExitCodes.OK;
    }

    /** The longest --warmup accepted: an hour. */
    static final double MAX_WARMUP_SECONDS = 3600;

    /** Runs work untimed until {@code seconds} have passed since the first run began, at least once. */
    static void warmUp(double seconds, Runnable work) {
        long until = System.nanoTime() + (long) (seconds * 1e9);
        do {
            work.run();
        } while (System.nanoTime() < until);
    }

    /** Tokens/s of r timed runs of work (which processes tokens tokens), after the warm-up runs. */
    private double[] measure(int tokens, Runnable work) {
        warmUp(warmup, work);
        double[] samples = new double[repetitions];
        for (int i = 0; i < repetitions; i++) {
            long t0 = System.nanoTime();
            work.run();
            samples[i] = tokens / ((System.nanoTime() - t0) / 1e9);
        }
        return samples;
    }

    private static int[] randomTokens(int n, int vocab) {
        SplittableRandom random = new SplittableRandom(1234);
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = random.nextInt(vocab);
        }
        return ids;
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new ExitCodes.UsageException(message);
        }
    }
}
