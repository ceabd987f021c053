package dev.tandem.runtime.compiler;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DeviceBackend;
import dev.tandem.runtime.device.DeviceKind;
import dev.tandem.runtime.device.DeviceSpec;
import dev.tandem.runtime.device.DeviceSpec.Link;
import dev.tandem.runtime.device.DeviceUnavailableException;
import dev.tandem.runtime.device.Devices;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Names a pool may use: catalog GPUs (DESIGN.md §7, plan only), LPU presets (the emulator's chip
 * figures) and present backends. Present devices are opened only when a pool names them, through
 * {@link Devices}: runtime-core never names a backend class.
 *
 * <p>Link figures are assumptions a user should read as such: NVLink per direction within a GPU
 * node, 800 Gb/s Ethernet between a GPU and an LP30 (DESIGN.md §5: "Ethernet to the GPU"), PCIe to a
 * host CPU, and the LPU presets' own chip-to-chip links.
 */
public final class Catalog {
    /** Kernel launch cost of a GPU op with CUDA graphs-style submission. */
    static final double GPU_LAUNCH_SECONDS = 3e-6;
    static final Link PCIE5 = new Link(64e9, 10e-6);
    static final Link PCIE4 = new Link(32e9, 10e-6);
    static final Link ETHERNET_800G = new Link(100e9, 5e-6);

    private final Map<String, DeviceGroup> planned = new LinkedHashMap<>();

    public Catalog() {
        gpu("h100", "NVIDIA H100 SXM (catalog)", 80e9, 3.35e12, 989e12, 1979e12, 700, 450e9);
        gpu("h200", "NVIDIA H200 SXM (catalog)", 141e9, 4.8e12, 989e12, 1979e12, 700, 450e9);
        gpu("b200", "NVIDIA B200 (catalog)", 180e9, 8e12, 2.25e15, 4.5e15, 1000, 900e9);
        // Rubin's BF16 rate is not published: half the low end of the FP8 range (16.7 PF) is assumed.
        gpu("rubin", "NVIDIA Vera Rubin (catalog; BF16 assumed FP8/2)", 288e9, 22e12, 8.35e15, 16.7e15, 1800, 1.8e12);
        // The two presets mirror device-lpu-sim's ChipConfig (GROQCHIP1, LP30): bandwidth is
        // slices × ports × lanes × clock, peak is 2 × planes × 320² MACs × clock (fp16 at 1/4 or 1/2 rate).
        lpu("groqchip1", "GroqChip1 (emulated preset)", 900e6, 220L << 20, 88 * 2 * 320 * 900e6, 2.0 * 4 * 320 * 320 * 900e6,
                4, 275, new Link(2 * 15e9, 450 / 900e6), PCIE4);
        lpu("lp30", "Groq LP30 (emulated preset; clock 1 GHz and 300 W assumed)", 1e9, 500_000_000L, 234 * 2 * 320 * 1e9,
                2.0 * 6 * 320 * 320 * 1e9, 2, 300, new Link(12 * 14e9, 400 / 1e9), ETHERNET_800G);
    }

    private void gpu(String name, String title, double memory, double bw, double bf16, double fp8, double watts, double nvlink) {
        Map<WeightFormat, Double> peak = peaks(bf16 / 2, bf16, fp8);
        Map<DeviceKind, Link> links = Map.of(DeviceKind.GPU, new Link(nvlink, 1.5e-6), DeviceKind.LPU, ETHERNET_800G,
                DeviceKind.CPU, PCIE5);
        planned.put(name, new DeviceGroup(name, 1, new DeviceSpec(title, DeviceKind.GPU, (long) memory, bw, peak, watts,
                GPU_LAUNCH_SECONDS, links), DeviceSource.CATALOG, 8));
    }

    private void lpu(String name, String title, double clockHz, long sram, double bw, double int8Flops, int f16Slowdown, double watts,
                     Link c2c, Link toHost) {
        Map<WeightFormat, Double> peak = peaks(int8Flops / 8, int8Flops / f16Slowdown, int8Flops);
        Map<DeviceKind, Link> links = Map.of(DeviceKind.LPU, c2c, DeviceKind.GPU, toHost, DeviceKind.CPU, toHost);
        // Statically scheduled: no launches, the program is one stream of instructions.
        planned.put(name, new DeviceGroup(name, 1, new DeviceSpec(title, DeviceKind.LPU, sram, bw, peak, watts, 0, links, clockHz),
                DeviceSource.EMULATED_LPU, 8));
    }

    /** Peak FLOP/s per format: F32, then F16/BF16, then every integer format (Q8_0, Q4_0 and the K-quants). */
    private static Map<WeightFormat, Double> peaks(double f32, double f16, double integer) {
        Map<WeightFormat, Double> peak = new java.util.EnumMap<>(WeightFormat.class);
        for (WeightFormat f : WeightFormat.values()) {
            peak.put(f, switch (f) {
                case F32 -> f32;
                case F16, BF16 -> f16;
                case Q8_0, Q4_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K -> integer;
            });
        }
        return Map.copyOf(peak);
    }

    /** Catalog and LPU names, then every registered backend's name. */
    public List<String> names() {
        List<String> names = new ArrayList<>(planned.keySet());
        for (DeviceBackend b : Devices.backends()) {
            if (!names.contains(b.name())) {
                names.add(b.name());
            }
        }
        return names;
    }

    public boolean knows(String name) {
        return planned.containsKey(name) || Devices.backends().stream().anyMatch(b -> b.name().equals(name));
    }

    /**
     * {@code count} devices of a name. A present backend is probed and its first device opened once
     * to read its spec, then closed.
     * @throws DeviceUnavailableException when a present backend cannot be used here
     */
    public DeviceGroup resolve(String name, int count) {
        DeviceGroup g = planned.get(name);
        if (g != null) {
            return g.withCount(count);
        }
        for (Devices.Probe p : Devices.probeAll()) {
            if (!p.backend().name().equals(name)) {
                continue;
            }
            if (!p.availability().available()) {
                throw new DeviceUnavailableException("device '" + name + "' is unavailable: " + p.availability().reason());
            }
            List<Device> devices = p.backend().open();
            if (devices.isEmpty()) {
                throw new DeviceUnavailableException("device '" + name + "' opened no devices");
            }
            DeviceSpec spec = devices.getFirst().spec();
            devices.forEach(Device::close);
            return new DeviceGroup(name, count, spec, DeviceSource.PRESENT, 1);
        }
        throw new PoolSyntaxException(name, "unknown device; known: " + String.join(", ", names()));
    }
}
