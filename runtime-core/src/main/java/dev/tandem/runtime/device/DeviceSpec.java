package dev.tandem.runtime.device;

import dev.tandem.kernels.WeightFormat;

import java.util.Map;

/**
 * What the compiler needs to know about a device, and nothing else.
 *
 * @param name             human-readable name (e.g. "AMD EPYC (2 threads)", "NVIDIA H100 80GB HBM3")
 * @param kind             CPU, GPU or LPU
 * @param memoryBytes      memory the device can hold weights, KV cache and activations in
 * @param memoryBandwidth  bytes per second
 * @param peakFlops        FLOP/s per weight format (multiply-add counts 2)
 * @param boardPowerWatts  power drawn at load, for energy estimates
 * @param launchOverheadSeconds fixed cost per op launch
 * @param links            bandwidth (bytes/s) and latency (s) to each peer kind
 * @param clockHz          the clock its times are counted in, where they are counted in cycles (an
 *                         emulated LPU), so predicted and emulated cycles compare exactly; 0 otherwise
 */
public record DeviceSpec(String name, DeviceKind kind, long memoryBytes, double memoryBandwidth,
                         Map<WeightFormat, Double> peakFlops, double boardPowerWatts,
                         double launchOverheadSeconds, Map<DeviceKind, Link> links, double clockHz) {

    public record Link(double bandwidth, double latencySeconds) {}

    public DeviceSpec {
        peakFlops = Map.copyOf(peakFlops);
        links = Map.copyOf(links);
    }

    /** A device whose time is a wall clock. */
    public DeviceSpec(String name, DeviceKind kind, long memoryBytes, double memoryBandwidth, Map<WeightFormat, Double> peakFlops,
                      double boardPowerWatts, double launchOverheadSeconds, Map<DeviceKind, Link> links) {
        this(name, kind, memoryBytes, memoryBandwidth, peakFlops, boardPowerWatts, launchOverheadSeconds, links, 0);
    }
}
