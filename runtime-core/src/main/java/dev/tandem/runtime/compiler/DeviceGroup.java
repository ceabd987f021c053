package dev.tandem.runtime.compiler;

import dev.tandem.runtime.device.DeviceOptions;
import dev.tandem.runtime.device.DeviceSpec;

/**
 * {@code count} identical devices of one pool entry. Within a group, up to {@code nodeSize} devices
 * are fully connected and work tensor-parallel; further devices take further pipeline stages.
 *
 * @param name     the pool name (h100, lp30, cpu, ...)
 * @param count    how many
 * @param spec     each one's spec
 * @param source   present, emulated or catalog
 * @param nodeSize devices joined all-to-all (an NVLink domain or an LPU node)
 * @param options  the entry's options (lp30*2:clockHz=1.1e9), which the spec already reflects and
 *                 the executor opens the devices with
 */
public record DeviceGroup(String name, int count, DeviceSpec spec, DeviceSource source, int nodeSize, DeviceOptions options) {
    public DeviceGroup {
        if (count < 1 || nodeSize < 1) {
            throw new IllegalArgumentException("device group " + name + " needs count and node size >= 1");
        }
    }

    public DeviceGroup(String name, int count, DeviceSpec spec, DeviceSource source, int nodeSize) {
        this(name, count, spec, source, nodeSize, DeviceOptions.none());
    }

    public DeviceGroup withCount(int n) { return new DeviceGroup(name, n, spec, source, nodeSize, options); }

    /** "h100[0-7]" style label of devices first..first+n-1. */
    public String label(int first, int n) {
        return n == 1 ? name + "[" + first + "]" : name + "[" + first + "-" + (first + n - 1) + "]";
    }

    @Override
    public String toString() {
        return (count == 1 ? name : name + "*" + count) + (options.isEmpty() ? "" : ":" + options);
    }
}
