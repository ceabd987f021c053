package dev.tandem.bench;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.generate.Sampling;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.Devices;
import dev.tandem.runtime.engine.Engine;
import dev.tandem.runtime.engine.EngineConfig;
import dev.tandem.runtime.engine.RequestHandle;
import dev.tandem.runtime.exec.ReferenceForward;
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

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Decode throughput of the batching engine against batch size, stories110M shape (Q8_0), on the CPU
 * device. One operation is {@code batch} requests of a one-token prompt generating {@link #TOKENS}
 * tokens each, all at once: every step is {@code batch} decode rows (the one-token prompts are decode
 * rows too). System tokens/s = batch * TOKENS / time, per user = TOKENS / time.
 * {@code batch=reference} is {@link ReferenceForward} decoding TOKENS tokens alone, the baseline of
 * the engine's own per-step overhead at batch 1.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xms2g", "-Xmx8g"})
public class EngineDecodeBenchmark {
    static final int TOKENS = 8;
    private static final int CONTEXT = 64;

    @Param({"reference", "1", "2", "4", "8", "16", "32", "64"})
    public String batch;

    private Model model;
    private Device device;
    private Engine engine;
    private ReferenceForward reference;

    @Setup(Level.Trial)
    public void setup() {
        model = Stories110M.load(GgmlType.Q8_0);
        if (batch.equals("reference")) {
            reference = new ReferenceForward(model.config(), model.weights(), model.ropeInvFreq(), CONTEXT,
                    ReferenceForward.DEFAULT_PREFILL_CHUNK);
            return;
        }
        device = Devices.open("cpu");
        engine = Engine.open(model, device, EngineConfig.defaults(CONTEXT).maxSequences(64).maxBatchTokens(64));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (engine != null) {
            engine.close();
            device.close();
        }
        model.close();
    }

    @Benchmark
    public int decode() {
        if (reference != null) {
            int token = 1;
            for (int pos = 0; pos < TOKENS; pos++) {
                float[] logits = reference.forward(token, pos);
                token = dev.tandem.kernels.Ops.argmax(logits, 0, logits.length);
            }
            return token;
        }
        int b = Integer.parseInt(batch);
        Sampling sampling = Sampling.greedy().maxTokens(TOKENS).stopAtEos(false);
        List<RequestHandle> handles = new ArrayList<>(b);
        for (int i = 0; i < b; i++) {
            handles.add(engine.submit(new int[] {1 + i}, sampling, null));
        }
        int sum = 0;
        for (RequestHandle h : handles) {
            sum += h.result().join().generatedIds().length;
        }
        return sum;
    }
}
