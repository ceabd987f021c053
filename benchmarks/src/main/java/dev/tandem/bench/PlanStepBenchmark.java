package dev.tandem.bench;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.compiler.Catalog;
import dev.tandem.runtime.compiler.Compiler;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.Objective;
import dev.tandem.runtime.compiler.Plan;
import dev.tandem.runtime.compiler.Policy;
import dev.tandem.runtime.compiler.PoolParser;
import dev.tandem.runtime.compiler.Workload;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.Devices;
import dev.tandem.runtime.exec.PlanForward;
import dev.tandem.runtime.exec.ReferenceForward;
import dev.tandem.runtime.run.PlanRun;
import dev.tandem.runtime.format.GgmlType;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * Host time of one decode step of a compiled plan run by the executor, stories110M shape (Q8_0):
 * {@code single} on the CPU device (the executor's overhead over {@link DecodeBenchmark}) and
 * {@code afd} with attention on the CPU and every FFN emulated in full on one LP30 (what emulating
 * the LPU half and moving the hidden state through the host cost on this machine).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 8, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xms2g", "-Xmx8g"})
public class PlanStepBenchmark {
    /** A policy and pool to compile, or "device:NAME": the one-device forward a Session on that device runs. */
    @Param({"single:cpu", "afd:cpu,lp30", "device:cpu"})
    public String plan;

    private Model model;
    private PlanForward forward;
    private Device device;
    private int pos;
    private int token = 1;

    @Setup(Level.Trial)
    public void setup() {
        model = Stories110M.load(GgmlType.Q8_0);
        String[] p = plan.split(":");
        if (p[0].equals("device")) {
            device = Devices.open(p[1]);
            forward = PlanForward.onDevice(device, model.config(), model.weights(), model.ropeInvFreq(), DecodeBenchmark.POSITIONS,
                    ReferenceForward.DEFAULT_PREFILL_CHUNK);
            return;
        }
        Compiler compiler = Compiler.withInstalledProviders();
        Plan compiled = compiler.compile(ModelGraph.of(model), PoolParser.parse(p[1], new Catalog()),
                new Workload(1, 1, DecodeBenchmark.POSITIONS), Policy.parse(p[0]), Objective.lowestTpot());
        forward = new PlanForward(compiled, model.config(), model.weights(), model.ropeInvFreq(), DecodeBenchmark.POSITIONS,
                ReferenceForward.DEFAULT_PREFILL_CHUNK, PlanRun::openStage);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        forward.close();
        if (device != null) {
            device.close();
        }
        model.close();
    }

    @Benchmark
    public float decodeStep() {
        float[] logits = forward.forward(token, pos);
        pos = (pos + 1) % DecodeBenchmark.POSITIONS;
        token = (token * 31 + 7) % model.config().vocabSize();
        if (pos == 0) {
            forward.clearLog(); // the executor logs every op; keep the log from growing over a long run
        }
        return logits[0];
    }
}
