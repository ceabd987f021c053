package dev.tandem.conformance;

import dev.tandem.runtime.device.UnsupportedWeightFormatException;
import dev.tandem.runtime.device.DeviceBuffer;
import dev.tandem.runtime.device.Device;
import dev.tandem.kernels.ScalarOps;
import dev.tandem.kernels.WeightFormat;
import dev.tandem.kernels.KernelConfig;
import dev.tandem.kernels.WeightMatrix;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import java.util.Random;
import java.util.Set;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the conformance suites share: the device under test, the hooks a backend overrides (formats it
 * refuses, its reference dot and rmsnorm, its tolerance), a seeded generator per test and the
 * comparisons. A backend's test extends {@link DeviceConformanceSuite}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class DeviceConformanceBase {
    protected Device device;
    final Random random = new Random();
    long seed;

    /** Opens the device under test. */
    protected abstract Device openDevice();

    /**
     * Weight formats this device refuses at upload with {@link UnsupportedWeightFormatException}
     * (checked below); every other format must compute.
     */
    protected Set<WeightFormat> unsupportedFormats() {
        return Set.of();
    }

    /**
     * The scalar reference of one matmul output on this device: the kernels' own arithmetic (for
     * Q8_0/Q4_0 under tandem.quantDot=int8, activations quantized to 8-bit blocks and integer
     * products). A device that multiplies fp32 activations (OpenCL) overrides this with
     * {@link WeightMatrix#dotScalarFloat}: the two differ by the activations' rounding (about 1/254 of
     * a block's largest value per element), far more than the fp32 tolerance below.
     */
    protected float referenceDot(WeightMatrix m, int row, float[] x, int xOff) {
        return m.dotScalar(row, x, xOff);
    }

    /**
     * The rmsnorm the reference attention blocks compute before their Q/K/V matmuls. Where activations are
     * rounded to 8-bit levels, one ulp of difference in it can move a value to the neighbouring level
     * (1/127 of its block's largest value), far past {@link #tolerance()} for the keys and values read
     * back from the pool; a device whose rmsnorm is the host's {@code Ops.rmsnorm} bit for bit (OpenCL)
     * says so here. The default is the scalar reference.
     */
    protected void referenceRmsnorm(float[] out, int outOff, float[] x, int xOff, float[] weight, int n, float eps) {
        ScalarOps.rmsnorm(out, outOff, x, xOff, weight, n, eps);
    }

    /**
     * Whether this device multiplies Q8_0/Q4_0 weights with 8-bit activations (the CPU kernels and the
     * backends built on them, under tandem.quantDot=int8). Their whole-model logits get
     * ReferenceModelsTest's int8 tolerance and the ids check there; float devices keep the original.
     */
    protected boolean quantizesActivations() {
        return KernelConfig.integerDot();
    }

    /**
     * Whether this device's attention runs what architectures add to the Llama block (QKV biases,
     * QK-norm, a head width of its own); a device whose fused attention does not must refuse such a
     * model with {@link dev.tandem.runtime.device.UnsupportedBlockException} (checked below).
     */
    protected boolean runsAttentionOptions() {
        return true;
    }

    /** Relative tolerance of the op tests (F32 math everywhere; GPUs may reorder sums). */
    protected double tolerance() {
        return 1e-4;
    }

    @BeforeAll
    void open() {
        device = openDevice();
    }

    @AfterAll
    void close() {
        if (device != null) {
            device.close();
        }
    }

    /** A fresh generator per test; {@code -Dtandem.test.seed=N} replays the seed a failure printed. */
    Random fresh() {
        String replay = System.getProperty("tandem.test.seed");
        seed = replay != null ? Long.parseLong(replay) : random.nextLong();
        return new Random(seed);
    }

    DeviceBuffer upload(float[] values) {
        DeviceBuffer b = device.allocate(values.length);
        device.write(b, 0, values, 0, values.length);
        return b;
    }

    float[] download(DeviceBuffer b, int n) {
        float[] r = new float[n];
        device.read(b, 0, r, 0, n);
        return r;
    }

    /**
     * Relative tolerance of a whole block's output. Where the device rounds activations to 8-bit
     * levels (Q8_0/Q4_0 under the integer dot), a block's second matmul reads activations the block
     * computed itself (attention's output before wo, silu(w1 x) * w3 x before w2). A one-ulp difference
     * in that float arithmetic can move one activation to the neighbouring level: 1/127 of its
     * block's largest value, about 1e-3 relative L2 on these shapes (seed 6042712372307835061 showed
     * 9.6e-4 on cpu and the LPU alike). Allowing a few such moves still fails a wrong position, block
     * table or weight, which are off by 1e-1 or more; the q/k/v outputs, which see only the given
     * input, keep {@link #tolerance()}.
     */
    double blockTolerance(WeightFormat format) {
        boolean int8 = quantizesActivations() && (format == WeightFormat.Q8_0 || format == WeightFormat.Q4_0);
        return int8 ? Math.max(5e-3, tolerance()) : tolerance();
    }

    void assertClose(float[] expected, float[] actual, String what) {
        assertClose(expected, actual, what, tolerance());
    }

    void assertClose(float[] expected, float[] actual, String what, double tolerance) {
        assertEquals(expected.length, actual.length, what);
        double num = 0, den = 0, maxAbs = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = (double) actual[i] - expected[i];
            num += d * d;
            den += (double) expected[i] * expected[i];
            maxAbs = Math.max(maxAbs, Math.abs(expected[i]));
        }
        double rel = Math.sqrt(num / Math.max(den, 1e-30));
        assertTrue(maxAbs > 0, what + ": the reference is all zeros, which proves nothing");
        assertTrue(rel <= tolerance, what + " (seed " + seed + "): relative L2 error " + rel + " > " + tolerance);
    }
}
