package dev.tandem.device.lpu;

import dev.tandem.kernels.WeightFormat;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * One LPU chip: capacities, unit throughputs and latencies, links, clock and power. Every cycle
 * count the emulator produces follows from these fields and the program, nothing else.
 *
 * <p>The model is simplified (slices are not placed spatially: MEM is one unit whose bandwidth is
 * that of all its slices together) but exact: each instruction's occupancy and latency are whole
 * cycles computed from these numbers.
 *
 * @param name                  preset name, or the preset's name with overrides noted
 * @param sramBytes             SRAM per chip
 * @param memSlices             MEM slices (SRAM banks)
 * @param memPortsPerSlice      vectors a slice reads or writes per cycle
 * @param lanes                 vector lanes; one byte per lane per vector (a 320-byte vector on GroqChip1)
 * @param streamRegisters       stream registers per chip (both directions together)
 * @param mxmPlanes             MXM planes
 * @param mxmDim                each plane is mxmDim × mxmDim int8 MACs per cycle
 * @param mxmFloat16Slowdown    how many times slower the MXM runs fp16/bf16 weights than int8
 * @param mxmFloat32Slowdown    the same for fp32 weights (the TSP has no fp32 MXM; modeled as a slower path)
 * @param mxmWeightBuffers      weight buffers in the MXM (double buffering = 2)
 * @param mxmWeightBufferBytes  bytes one weight buffer holds: the size of a weight tile
 * @param vxmAlusPerLane        VXM ALUs per lane: fp32 operations per lane per cycle
 * @param sxmVectorsPerCycle    fp32 vectors (lanes elements each) the SXM moves per cycle
 * @param memLatency            cycles from a MEM instruction's issue to its first result, beyond its occupancy
 * @param mxmLatency            the same for the MXM
 * @param vxmLatency            the same for the VXM
 * @param sxmLatency            the same for the SXM
 * @param c2cLinks              chip-to-chip links per chip
 * @param linkBitsPerSecond     one link's bandwidth per direction
 * @param c2cHopLatencyCycles   cycles one hop adds to a transfer
 * @param chipsPerNode          chips of a fully connected node (tensor parallel group)
 * @param linksPerPeer          links joining two chips of one node; between nodes one link, two hops
 * @param clockHz               clock
 * @param powerWatts            power per chip at load
 * @param hostLinkBitsPerSecond the chip's link to a host CPU or GPU (PCIe on GroqChip1, Ethernet on LP30), per direction
 * @param hostLinkLatencySeconds that link's latency
 * @param nodesPerRack          nodes of a rack, joined all-to-all by global links (ISCA 2022: 9 GroqNodes of 8 TSPs per rack)
 * @param rackHops              hops of a transfer between chips of different nodes of one rack
 * @param systemHops            hops of a transfer between chips of different racks (the Dragonfly's diameter)
 * @param chipSyncCycles        cycles a program spanning several chips of one node waits at its start to align them
 * @param nodeSyncCycles        the same for a program spanning several nodes (global links, runtime deskew)
 * @param wireBytesPerElement   bytes an activation element takes on a C2C link (4 fp32, 2 fp16/bf16, 1 int8/fp8)
 * @param hostSamplingSeconds   the host's work per generated token between reading the logits and writing the next token
 */
public record ChipConfig(String name, long sramBytes, int memSlices, int memPortsPerSlice, int lanes,
                         int streamRegisters, int mxmPlanes, int mxmDim, int mxmFloat16Slowdown,
                         int mxmFloat32Slowdown, int mxmWeightBuffers, long mxmWeightBufferBytes,
                         int vxmAlusPerLane, int sxmVectorsPerCycle, int memLatency, int mxmLatency,
                         int vxmLatency, int sxmLatency, int c2cLinks, double linkBitsPerSecond,
                         int c2cHopLatencyCycles, int chipsPerNode, int linksPerPeer, double clockHz,
                         double powerWatts, double hostLinkBitsPerSecond, double hostLinkLatencySeconds,
                         int nodesPerRack, int rackHops, int systemHops, int chipSyncCycles, int nodeSyncCycles,
                         int wireBytesPerElement, double hostSamplingSeconds) {

    /**
     * GroqChip1's chipSyncCycles: FITTED to one published point (Llama-2-70B at 300 tokens/s per user,
     * docs/lpu.md), the only fitted figure of the preset. ISCA 2022 describes the mechanism (chips
     * align their hardware counters and DESKEW before a multi-chip program) but not its cost; the fit
     * absorbs whatever else a deployed system pays per multi-chip program.
     */
    static final int CHIP_SYNC_FIT_GROQCHIP1 = 13_206;

    /**
     * GroqChip1 (TSP v1): 220 MiB SRAM in 88 slices, 320 lanes, 4 MXM planes of 320×320 (737 int8
     * TOPS, 184 fp16 TFLOPS at 900 MHz), 16 links of 4 × 30 Gb/s, 8 chips per node. Two ports per
     * slice give 88·2·320 B = 56,320 B/cycle = 50.7 TB/s, near the ~55 TiB/s idealised figure.
     * Latencies and the per-hop latency (~0.5 µs) are estimates; override them as needed. The host
     * link is PCIe 4 x16 (32 GB/s, 10 µs assumed).
     *
     * <p>Deployment costs (sources in docs/lpu.md): 9 nodes of 8 TSPs per rack and a Dragonfly of
     * racks (ISCA 2022: up to 10,440 TSPs = 145 racks × 72); 3 hops between nodes of a rack (local,
     * global, local) and 5 between racks (our reading of that topology); fp16 activations on the wire
     * (estimate); 900 cycles (1 µs) to align a program's nodes (estimate; ISCA 2022 describes the
     * runtime deskew, not its cost); 20 µs of host sampling per token (estimate); chipSyncCycles fitted.
     */
    public static final ChipConfig GROQCHIP1 = new ChipConfig("groqchip1", 220L << 20, 88, 2, 320,
            64, 4, 320, 4, 8, 2, 4L * 320 * 320,
            16, 4, 5, 20, 8, 6, 16, 120e9,
            450, 8, 2, 900e6, 275, 256e9, 10e-6,
            9, 3, 5, CHIP_SYNC_FIT_GROQCHIP1, 900, 2, 20e-6);

    /**
     * LP30 (Groq 3 LPU, GTC 2026): 500 MB SRAM at 150 TB/s, ~1.2 PFLOPS FP8 (int8 here), 96 links of
     * 112 Gb/s. The clock is not published; 1 GHz is assumed, with 234 slices of two 320-byte
     * ports (149.8 TB/s) and 6 MXM planes (1.23 POPS). Power is not published: 300 W assumed. The
     * link to a GPU is 800 Gb/s Ethernet (DESIGN.md §5), 5 µs assumed. Its deployment costs are
     * GroqChip1's (no LP30 system figures are public), chipSyncCycles being GroqChip1's fitted 14.7 µs
     * at this clock: borrowed, not validated.
     */
    public static final ChipConfig LP30 = new ChipConfig("lp30", 500_000_000L, 234, 2, 320,
            64, 6, 320, 2, 8, 2, 6L * 320 * 320,
            16, 4, 5, 20, 8, 6, 96, 112e9,
            400, 8, 12, 1e9, 300, 800e9, 5e-6,
            9, 3, 5, (int) Math.round(CHIP_SYNC_FIT_GROQCHIP1 / 900e6 * 1e9), 1000, 2, 20e-6);

    public static final List<ChipConfig> PRESETS = List.of(GROQCHIP1, LP30);

    public ChipConfig {
        if (wireBytesPerElement != 1 && wireBytesPerElement != 2 && wireBytesPerElement != 4) {
            throw new IllegalArgumentException("chip config " + name + ": wireBytesPerElement must be 1 (int8/fp8), 2 (fp16/bf16) or 4 (fp32), got "
                    + wireBytesPerElement);
        }
        if (sramBytes <= 0 || memSlices <= 0 || memPortsPerSlice <= 0 || lanes <= 0 || streamRegisters <= 0
                || mxmPlanes <= 0 || mxmDim <= 0 || mxmFloat16Slowdown <= 0 || mxmFloat32Slowdown <= 0
                || mxmWeightBuffers <= 0 || mxmWeightBufferBytes <= 0 || vxmAlusPerLane <= 0 || sxmVectorsPerCycle <= 0
                || memLatency < 0 || mxmLatency < 0 || vxmLatency < 0 || sxmLatency < 0 || c2cLinks <= 0
                || linkBitsPerSecond <= 0 || c2cHopLatencyCycles < 0 || chipsPerNode <= 0 || linksPerPeer <= 0
                || clockHz <= 0 || powerWatts < 0 || hostLinkBitsPerSecond <= 0 || hostLinkLatencySeconds < 0
                || nodesPerRack <= 0 || rackHops < 1 || systemHops < rackHops || chipSyncCycles < 0 || nodeSyncCycles < 0
                || hostSamplingSeconds < 0) {
            throw new IllegalArgumentException("chip config " + name + ": sizes, rates and the clock must be positive, latencies >= 0");
        }
    }

    /** The names of the fields {@link #with} can replace (every component but the name). */
    public static List<String> fields() {
        return Arrays.stream(ChipConfig.class.getRecordComponents()).map(RecordComponent::getName).filter(n -> !n.equals("name")).toList();
    }

    /** A preset by name (groqchip1, lp30). */
    public static ChipConfig preset(String name) {
        for (ChipConfig c : PRESETS) {
            if (c.name.equalsIgnoreCase(name)) {
                return c;
            }
        }
        throw new IllegalArgumentException("no LPU preset '" + name + "'; presets: groqchip1, lp30");
    }

    /**
     * This config with one field replaced, e.g. {@code with("clockHz", "1.1e9")}. The field names are
     * the record's components; the value is parsed as the component's type.
     */
    public ChipConfig with(String field, String value) {
        RecordComponent[] components = ChipConfig.class.getRecordComponents();
        Object[] args = new Object[components.length];
        boolean found = false;
        for (int i = 0; i < components.length; i++) {
            RecordComponent rc = components[i];
            try {
                args[i] = rc.getAccessor().invoke(this);
            } catch (IllegalAccessException | InvocationTargetException e) {
                throw new IllegalStateException("cannot read ChipConfig." + rc.getName(), e);
            }
            if (rc.getName().equals(field)) {
                args[i] = parse(rc.getType(), field, value.trim());
                found = true;
            }
        }
        if (!found) {
            throw new IllegalArgumentException("no chip config field '" + field + "'; fields: "
                    + String.join(", ", Arrays.stream(components).map(RecordComponent::getName).toList()));
        }
        try {
            return (ChipConfig) ChipConfig.class
                    .getDeclaredConstructor(Arrays.stream(components).map(RecordComponent::getType).toArray(Class<?>[]::new))
                    .newInstance(args);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof IllegalArgumentException iae) {
                throw iae;
            }
            throw new IllegalStateException(e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot build a ChipConfig", e);
        }
    }

    /** Applies "key=value" overrides in order (comma-separated lists are split first). */
    public ChipConfig withOverrides(List<String> overrides) {
        ChipConfig c = this;
        for (String item : overrides) {
            for (String kv : item.split(",")) {
                if (kv.isBlank()) {
                    continue;
                }
                int eq = kv.indexOf('=');
                if (eq <= 0) {
                    throw new IllegalArgumentException("chip override '" + kv + "' is not key=value");
                }
                c = c.with(kv.substring(0, eq).trim(), kv.substring(eq + 1));
            }
        }
        return c;
    }

    private static Object parse(Class<?> type, String field, String value) {
        try {
            if (type == long.class) {
                return (long) Double.parseDouble(value);
            }
            if (type == int.class) {
                return Integer.parseInt(value);
            }
            if (type == double.class) {
                return Double.parseDouble(value);
            }
            if (type == String.class) {
                return value;
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("chip config " + field + "=" + value + ": not a " + type.getSimpleName());
        }
        throw new IllegalStateException("unhandled field type " + type);
    }

    // ---- derived rates, all per cycle ----

    /** SRAM bytes all slices move per cycle. */
    public long memBytesPerCycle() { return (long) memSlices * memPortsPerSlice * lanes; }

    /** MXM multiply-accumulates per cycle for weights of this format. */
    public long macsPerCycle(WeightFormat format) {
        long int8 = (long) mxmPlanes * mxmDim * mxmDim;
        return switch (format) {
            // K-quants: integer weights too (no LPU lowering computes them yet; the rate serves cost estimates)
            case Q8_0, Q4_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K -> int8;
            case F16, BF16 -> Math.max(1, int8 / mxmFloat16Slowdown);
            case F32 -> Math.max(1, int8 / mxmFloat32Slowdown);
        };
    }

    /** fp32 elementwise operations the VXM does per cycle. */
    public long vxmOpsPerCycle() { return (long) lanes * vxmAlusPerLane; }

    /** fp32 elements the SXM moves per cycle. */
    public long sxmElementsPerCycle() { return (long) lanes * sxmVectorsPerCycle; }

    /** Bytes per cycle over the links joining two chips (of one node when sameNode, else one link). */
    public double linkBytesPerCycle(boolean sameNode) {
        return linkBitsPerSecond / 8 * (sameNode ? linksPerPeer : 1) / clockHz;
    }

    /**
     * Hops a transfer between two chips takes in the real topology, chips numbered in placement
     * order (node = chip / chipsPerNode, rack = node / nodesPerRack): 1 within a node (fully
     * connected), rackHops between nodes of a rack, systemHops between racks.
     */
    public int hops(int fromChip, int toChip) {
        int fromNode = fromChip / chipsPerNode, toNode = toChip / chipsPerNode;
        if (fromNode == toNode) {
            return 1;
        }
        return fromNode / nodesPerRack == toNode / nodesPerRack ? rackHops : systemHops;
    }

    /** Cycles a program whose instructions touch these chips (placement order) waits to align them before it starts. */
    public long syncCycles(int firstChip, int lastChip) {
        if (firstChip == lastChip) {
            return 0;
        }
        return firstChip / chipsPerNode == lastChip / chipsPerNode ? chipSyncCycles : nodeSyncCycles;
    }

    /** Bytes a C2C transfer of fp32 activations puts on the wire at {@link #wireBytesPerElement}. */
    public long wireBytes(long fp32Bytes) { return fp32Bytes / 4 * wireBytesPerElement + fp32Bytes % 4; }

    /**
     * Seconds the host spends per generated token: the logits (vocab elements at wire precision)
     * over the host link, its latency both ways (logits out, the next token in) and the sampling.
     */
    public double hostRoundTripSeconds(int vocab) {
        return 2 * hostLinkLatencySeconds + (double) vocab * wireBytesPerElement * 8 / hostLinkBitsPerSecond + hostSamplingSeconds;
    }

    /** {@link #hostRoundTripSeconds} rounded to whole cycles of this chip's clock (what a step's cycle count adds). */
    public long hostRoundTripCycles(int vocab) { return Math.round(hostRoundTripSeconds(vocab) * clockHz); }

    /** Seconds per cycle. */
    public double secondsPerCycle() { return 1 / clockHz; }

    /** Peak multiply-add FLOP/s (2 per MAC) for a weight format. */
    public double peakFlops(WeightFormat format) { return 2.0 * macsPerCycle(format) * clockHz; }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%s (%.0f MiB SRAM, %.1f TB/s, %.0f MHz)", name, sramBytes / 1048576.0,
                memBytesPerCycle() * clockHz / 1e12, clockHz / 1e6);
    }
}
