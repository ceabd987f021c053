package dev.tandem.factory;

import java.util.List;

/**
 * One way to run a unit of deployment: its devices, and what it yields in steady state.
 *
 * @param batch             concurrent requests in the unit
 * @param tokensPerSPerUser output tokens/s each request sees, averaged over its life (what a tier's floor is checked against)
 * @param tokensPerS        output tokens/s of the whole unit
 * @param devices           every device the unit powers, with its board power
 * @param detail            how the point was obtained, for reports (e.g. "tp 8 x 1; TTFT 305 ms, TPOT 3.6 ms")
 */
public record OperatingPoint(int batch, double tokensPerSPerUser, double tokensPerS, List<DeviceCount> devices, String detail) {
    /**
     * {@code count} devices of one kind.
     *
     * @param name       catalog name
     * @param lpu        whether it counts against the LPU share of the power
     * @param boardWatts each device's board power
     * @param nodeSize   devices per node (a node's host and network power are shared by them)
     */
    public record DeviceCount(String name, boolean lpu, int count, double boardWatts, int nodeSize) {
        public DeviceCount {
            if (count < 1 || nodeSize < 1 || !(boardWatts >= 0)) {
                throw new IllegalArgumentException("devices " + name + ": count and node size >= 1, watts >= 0");
            }
        }
    }

    public OperatingPoint {
        devices = List.copyOf(devices);
        if (batch < 1 || !(tokensPerSPerUser > 0) || !(tokensPerS > 0) || devices.isEmpty()) {
            throw new IllegalArgumentException("an operating point needs batch >= 1, positive rates and devices");
        }
    }
}
