package dev.tandem.runtime.profile;

import dev.tandem.kernels.WeightFormat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Profiles whose every point follows a known formula, so what a model derives from them can be checked exactly. */
final class SyntheticProfiles {
    private SyntheticProfiles() {}

    static final double DISPATCH = 1e-6;
    /** One record() marker: apart from the dispatch, so a test can tell which term it sees. */
    static final double MARKER = 0.25e-6;
    /** matmul: dispatch + bytes / 10 GB/s × (1 + (batch - 1) / 4); cold twice as slow per byte. */
    static double matmul(long bytes, int batch, boolean cold) {
        return DISPATCH + bytes / 1e10 * (1 + (batch - 1) / 4.0) * (cold ? 2 : 1);
    }

    /** attention: 2 µs + 1 ns per (pair, head) + 0.1 ns per (pair, head, head element). */
    static double attention(double pairsHeads, int headDim) {
        return 2e-6 + 1e-9 * pairsHeads + 1e-10 * pairsHeads * headDim;
    }

    /** elementwise ops: 0.5 µs + 1 ns per float (reads and writes 2 ns). */
    static double elementwise(String kind, long n) {
        return 0.5e-6 + (kind.equals(OpKinds.READ) || kind.equals(OpKinds.WRITE) ? 2e-9 : 1e-9) * n;
    }

    static List<Measurement> points(List<WeightFormat> formats) {
        List<Measurement> m = new ArrayList<>();
        m.add(new Measurement(OpKinds.DISPATCH, Map.of("n", 1L), DISPATCH));
        m.add(new Measurement(OpKinds.MARKER, Map.of("n", 1L), MARKER));
        for (WeightFormat f : formats) {
            for (boolean cold : new boolean[] {false, true}) {
                for (int batch : new int[] {1, 8}) {
                    for (int[] s : new int[][] {{256, 256}, {1024, 1024}, {4096, 1024}}) {
                        m.add(new Measurement(OpKinds.matmul(f, cold), Map.of("rows", (long) s[0], "cols", (long) s[1], "batch", (long) batch),
                                matmul(f.bytesFor((long) s[0] * s[1]), batch, cold)));
                    }
                }
            }
        }
        for (int[] h : new int[][] {{8, 8, 8}, {8, 2, 64}}) {
            for (int[] bs : new int[][] {{1, 15}, {1, 511}, {1, 2047}, {16, 0}, {16, 256}, {64, 0}}) {
                double ph = ProfileModel.pairs(bs[1], bs[0]) * h[0];
                m.add(new Measurement(OpKinds.ATTENTION, Map.of("batch", (long) bs[0], "start", (long) bs[1], "heads", (long) h[0],
                        "kv_heads", (long) h[1], "head_dim", (long) h[2]), attention(ph, h[2])));
            }
        }
        for (String k : OpKinds.ELEMENTWISE) {
            for (long n : new long[] {64, 4096, 262144}) {
                m.add(new Measurement(k, Map.of("n", n), elementwise(k, n)));
            }
        }
        return m;
    }

    static DeviceProfile profile(String device, MachineIdentity machine, long cacheBytes, List<WeightFormat> formats) {
        return new DeviceProfile(DeviceProfile.FORMAT_VERSION, device, "synthetic " + device, machine, "2026-11-30T00:00:00Z",
                cacheBytes, 1.0, points(formats));
    }

    static MachineIdentity machine() {
        return new MachineIdentity("Test CPU", 2, 2, 256, "Test JVM 25", "test");
    }
}
