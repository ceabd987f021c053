package dev.tandem.runtime.run;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.Devices;
import dev.tandem.runtime.profile.KernelClass;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.reflect.Proxy;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The kernel timer sorts calls into classes only while enabled, and leaves devices with blocks of their own alone. */
class KernelTimerTest {
    @Test
    void enabledItAddsEachCallToItsClassDisabledItAddsNothing() {
        try (Device cpu = Devices.open("cpu"); Arena arena = Arena.ofConfined()) {
            Device d = KernelTimer.wrap(cpu);
            assertTrue(d instanceof KernelTimer, "the cpu's blocks are the primitive ones");
            KernelTimer t = (KernelTimer) d;
            var seg = arena.allocate(64L * 64 * Float.BYTES, 64);
            var w = d.upload(WeightMatrix.of(WeightFormat.F32, seg, 64, 64));
            var x = d.allocate(64);
            var out = d.allocate(64);
            float[] host = new float[64];
            d.matmul(w, x, out, 1);
            assertTrue(t.collect().isEmpty(), "disabled: nothing timed");
            t.enable(true);
            d.matmul(w, x, out, 1);
            d.add(out, x, 64);
            d.siluMul(out, x, 64);
            d.read(out, 0, host, 0, 64);
            t.enable(false);
            d.rmsnorm(out, x, x, 64, 1, 1e-5f);
            Map<KernelClass, Double> m = t.collect();
            assertEquals(Set.of(KernelClass.MATMUL, KernelClass.ELEMENTWISE, KernelClass.HOST_COPY), m.keySet());
            assertTrue(m.values().stream().allMatch(s -> s >= 0), m.toString());
            assertTrue(t.collect().isEmpty(), "collect clears what it returned");
        }
    }

    @Test
    void theCpusOwnFfnIsTimedWholeAsAFusedBlockAndTheMarkersAreCountedApart() {
        try (Device cpu = Devices.open("cpu"); Arena arena = Arena.ofShared()) {
            KernelTimer t = (KernelTimer) KernelTimer.wrap(cpu);
            var c = new dev.tandem.runtime.model.LlamaConfig(64, 128, 1, 8, 4, 256, 512, 1e-5f, 10000f, null);
            var seg = arena.allocate(64L * 128 * Float.BYTES, 64);
            seg.fill((byte) 0x3C);
            var w1 = WeightMatrix.of(WeightFormat.F32, seg, 128, 64);
            var w2 = WeightMatrix.of(WeightFormat.F32, seg, 64, 128);
            float[] norm = new float[64];
            java.util.Arrays.fill(norm, 1f);
            try (var ffn = t.uploadFfn(new dev.tandem.runtime.device.FfnWeights(c, w1, w1, w2, norm), 1)) {
                assertEquals(Set.of(dev.tandem.runtime.compiler.OpKind.FFN), t.fusedBlocks(), "the cpu runs its FFN its own way");
                var x = t.allocate(64);
                ffn.run(x, 1);
                assertTrue(t.collect().isEmpty(), "disabled: nothing timed");
                assertEquals(0.0, t.collectMarkerSeconds());
                t.enable(true);
                ffn.run(x, 1);
                t.enable(false);
                assertEquals(Set.of(KernelClass.FUSED_BLOCK), t.collect().keySet(), "one window for the whole block");
                assertTrue(t.collectMarkerSeconds() >= 0, "the markers around it, on the host's clock");
                assertEquals(0.0, t.collectMarkerSeconds(), "collecting clears them");
            }
        }
    }

    @Test
    void aDeviceRunningBlocksOfItsOwnIsNotWrapped() {
        // A proxy implements every method itself, as a device with fused blocks overrides uploadAttention.
        Device own = (Device) Proxy.newProxyInstance(Device.class.getClassLoader(), new Class<?>[] {Device.class},
                (proxy, method, args) -> { throw new UnsupportedOperationException(method.getName()); });
        assertSame(own, KernelTimer.wrap(own));
    }
}
