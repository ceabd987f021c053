package dev.tandem.factory;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * What a site spends beyond the accelerators' boards, so that a unit's power is what it takes from
 * the site's budget. Every unit is built of whole nodes: a replica wider than a node takes
 * ceil(devices / node size) nodes; a narrower one shares a node with floor(node size / devices) - 1
 * other replicas and pays its share. Each node adds its host (CPUs, memory, NICs, fans, in-node
 * switches) and its share of the scale-out network; the facility multiplies all of it by its PUE.
 * Defaults and sources: docs/factory.md.
 *
 * @param pue                 total facility power / IT power (default 1.2: new liquid-cooled sites
 *                            reach 1.1-1.3, the industry average is about 1.58, Uptime Institute 2023-24)
 * @param gpuNodeHostWatts    per GPU node beyond its GPUs' boards (default 4,600 W: a DGX H100's
 *                            10.2 kW maximum input less 8 × 700 W)
 * @param lpuNodeHostWatts    per LPU node beyond its chips (default 1,000 W: two host CPUs, memory
 *                            and NICs; no published figure, an assumption)
 * @param networkWattsPerNode scale-out switches per node (default 1,000 W: 8 × 400 Gb/s ports through
 *                            a three-tier fat tree, about 5 switch ports each at ~27 W per port, from
 *                            a 64-port 400G switch drawing ~1.7 kW)
 */
public record Facility(@JsonProperty("pue") double pue, @JsonProperty("gpu_node_host_w") double gpuNodeHostWatts,
                       @JsonProperty("lpu_node_host_w") double lpuNodeHostWatts,
                       @JsonProperty("network_w_per_node") double networkWattsPerNode) {
    public static final double DEFAULT_PUE = 1.2;
    public static final double DEFAULT_GPU_NODE_HOST_W = 4600;
    public static final double DEFAULT_LPU_NODE_HOST_W = 1000;
    public static final double DEFAULT_NETWORK_W_PER_NODE = 1000;

    public static final Facility DEFAULT = new Facility(DEFAULT_PUE, DEFAULT_GPU_NODE_HOST_W, DEFAULT_LPU_NODE_HOST_W,
            DEFAULT_NETWORK_W_PER_NODE);

    public Facility {
        if (!(pue >= 1) || !Double.isFinite(pue)) {
            throw new IllegalArgumentException("--pue must be at least 1 (total facility power / IT power), got " + pue);
        }
        if (!(gpuNodeHostWatts >= 0) || !(lpuNodeHostWatts >= 0) || !(networkWattsPerNode >= 0)
                || !Double.isFinite(gpuNodeHostWatts + lpuNodeHostWatts + networkWattsPerNode)) {
            throw new IllegalArgumentException("host and network watts must be finite and >= 0");
        }
    }

    /** Nodes one unit occupies for {@code count} devices of a node of {@code nodeSize}: whole nodes, or a share of one. */
    static double nodes(int count, int nodeSize) {
        return count >= nodeSize ? Math.ceil((double) count / nodeSize) : 1.0 / (nodeSize / count);
    }

    /** A configuration's operating point as the site sees it: facility watts on the GPU and LPU sides. */
    public SitePoint scale(Configuration configuration, OperatingPoint p) {
        double gpuWatts = 0, lpuWatts = 0;
        for (OperatingPoint.DeviceCount d : p.devices()) {
            double nodes = nodes(d.count(), d.nodeSize());
            double it = nodes * (d.nodeSize() * d.boardWatts() + (d.lpu() ? lpuNodeHostWatts : gpuNodeHostWatts) + networkWattsPerNode);
            if (d.lpu()) {
                lpuWatts += pue * it;
            } else {
                gpuWatts += pue * it;
            }
        }
        return new SitePoint(configuration, p, gpuWatts, lpuWatts);
    }
}
