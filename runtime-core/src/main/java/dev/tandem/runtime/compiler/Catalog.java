package dev.tandem.runtime.compiler;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DeviceBackend;
import dev.tandem.runtime.device.DeviceKind;
import dev.tandem.runtime.device.DeviceOptionException;
import dev.tandem.runtime.device.DeviceOptions;
import dev.tandem.runtime.device.DeviceSpec;
import dev.tandem.runtime.device.DeviceSpec.Link;
import dev.tandem.runtime.device.DeviceUnavailableException;
import dev.tandem.runtime.device.Devices;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Names a pool may use: catalog GPUs (DESIGN.md §7, plan only; figures in {@link GpuFigures}), the presets emulating backends
 * publish (the LPU emulator's groqchip1 and lp30: {@link Devices#presets()}, their one source of
 * figures) and present backends. Present devices are opened only when a pool names them, through
 * {@link Devices}: runtime-core never names a backend class.
 *
 * <p>Link figures are assumptions a user should read as such: NVLink per direction within a GPU
 * node, 800 Gb/s Ethernet from a GPU to an LPU (DESIGN.md §5: "Ethernet to the GPU"), PCIe to a
 * host CPU; an LPU preset states its own links.
 */
public final class Catalog {
    /** Kernel launch cost of a GPU op with CUDA graphs-style submission. */
    static final double GPU_LAUNCH_SECONDS = 3e-6;
    static final Link PCIE5 = new Link(64e9, 10e-6);
    /** Between two devices when neither states a link to the other's kind. */
    static final Link PCIE4 = new Link(32e9, 10e-6);
    static final Link ETHERNET_800G = new Link(100e9, 5e-6);
    /** GPUs in one NVLink domain (an HGX/DGX board): the widest tensor-parallel group. */
    static final int GPU_NODE_SIZE = 8;

    private final Map<String, DeviceGroup> planned = new LinkedHashMap<>();

    public Catalog() {
        GpuFigures.ALL.forEach(this::gpu);
    }

    private void gpu(GpuFigures f) {
        Map<WeightFormat, Double> peak = peaks(f.peak(GpuFigures.MathRate.F32), f.bf16Flops(), f.fp8Flops());
        Map<DeviceKind, Link> links = Map.of(DeviceKind.GPU, new Link(f.nvlinkBandwidth(), 1.5e-6), DeviceKind.LPU, ETHERNET_800G,
                DeviceKind.CPU, PCIE5);
        planned.put(f.name(), new DeviceGroup(f.name(), 1, new DeviceSpec(f.title(), DeviceKind.GPU, (long) f.memoryBytes(),
                f.bandwidth(), peak, f.watts(), GPU_LAUNCH_SECONDS, links), DeviceSource.CATALOG, GPU_NODE_SIZE));
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

    /** Catalog names, the backends' presets, then every registered backend's name. */
    public List<String> names() {
        List<String> names = new ArrayList<>(planned.keySet());
        for (DeviceBackend.Preset p : Devices.presets()) {
            if (!names.contains(p.name())) {
                names.add(p.name());
            }
        }
        for (DeviceBackend b : Devices.backends()) {
            if (!names.contains(b.name())) {
                names.add(b.name());
            }
        }
        return names;
    }

    public boolean knows(String name) {
        return names().contains(name);
    }

    public DeviceGroup resolve(String name, int count) {
        return resolve(name, DeviceOptions.none(), count);
    }

    /**
     * {@code count} devices of a name, with options. A preset's spec comes from its backend with the
     * options applied; a present backend is probed and its first device opened once with them to
     * read its spec, then closed.
     * @throws DeviceUnavailableException when a present backend cannot be used here
     * @throws DeviceOptionException      when the device does not take one of the options
     */
    public DeviceGroup resolve(String name, DeviceOptions options, int count) {
        DeviceGroup g = planned.get(name);
        if (g != null) {
            options.requireKnown(name, List.of());
            return g.withCount(count);
        }
        var preset = Devices.preset(name, options);
        if (preset.isPresent()) {
            DeviceBackend.Preset p = preset.get();
            return new DeviceGroup(name, count, p.spec(), DeviceSource.EMULATED_LPU, p.nodeSize(), options);
        }
        for (Devices.Probe p : Devices.probeAll()) {
            if (!p.backend().name().equals(name)) {
                continue;
            }
            if (!p.availability().available()) {
                throw new DeviceUnavailableException("device '" + name + "' is unavailable: " + p.availability().reason());
            }
            List<Device> devices = p.backend().open(options);
            if (devices.isEmpty()) {
                throw new DeviceUnavailableException("device '" + name + "' opened no devices");
            }
            DeviceSpec spec = devices.getFirst().spec();
            devices.forEach(Device::close);
            return new DeviceGroup(name, count, spec, DeviceSource.PRESENT, 1, options);
        }
        throw new PoolSyntaxException(name, "unknown device; known: " + String.join(", ", names()));
    }
}
