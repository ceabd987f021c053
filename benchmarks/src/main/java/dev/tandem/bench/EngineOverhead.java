package dev.tandem.bench;

import dev.tandem.kernels.Ops;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.generate.Sampling;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.Devices;
import dev.tandem.runtime.engine.Engine;
import dev.tandem.runtime.engine.EngineConfig;
import dev.tandem.runtime.exec.ReferenceForward;
import dev.tandem.runtime.format.GgmlType;

import java.util.Arrays;

/**
 * The engine's own cost at batch 1, measured in pairs: ReferenceForward decoding 8 tokens, then a
 * one-request Engine decoding the same 8, alternately in one JVM, so both halves of a pair see the
 * same machine load; prints the median engine/reference ratio. Not JMH: on a shared machine the
 * paired ratio is steadier than two separately measured means.
 * {@code java --add-modules jdk.incubator.vector -cp benchmarks/target/benchmarks.jar dev.tandem.bench.EngineOverhead [pairs]}
 */
public final class EngineOverhead {
    private EngineOverhead() {}

    public static void main(String[] args) {
        int tokens = 8, pairs = args.length > 0 ? Integer.parseInt(args[0]) : 9;
        try (Model m = Stories110M.load(GgmlType.Q8_0); Device cpu = Devices.open("cpu");
             Engine engine = Engine.open(m, cpu, EngineConfig.defaults(64).maxSequences(1).maxBatchTokens(1))) {
            ReferenceForward ref = new ReferenceForward(m.config(), m.weights(), m.ropeInvFreq(), 64, ReferenceForward.DEFAULT_PREFILL_CHUNK);
            Sampling sampling = Sampling.greedy().maxTokens(tokens).stopAtEos(false);
            double[] ratio = new double[pairs];
            for (int i = -2; i < pairs; i++) { // two warm-up pairs
                long t0 = System.nanoTime();
                int token = 1;
                for (int pos = 0; pos < tokens; pos++) {
                    float[] logits = ref.forward(token, pos);
                    token = Ops.argmax(logits, 0, logits.length);
                }
                long t1 = System.nanoTime();
                engine.submit(new int[] {1}, sampling, null).result().join();
                long t2 = System.nanoTime();
                if (i >= 0) {
                    ratio[i] = (double) (t2 - t1) / (t1 - t0);
                }
                System.out.printf("pair %d: reference %.1f ms, engine %.1f ms%n", i, (t1 - t0) / 1e6, (t2 - t1) / 1e6);
            }
            Arrays.sort(ratio);
            System.out.printf("median engine/reference %.3f (min %.3f, max %.3f)%n", ratio[pairs / 2], ratio[0], ratio[pairs - 1]);
        }
    }
}
