package dev.tandem.runtime.compiler;

import dev.tandem.runtime.device.DeviceKind;

import java.util.List;

/** The devices a plan may use, one group per distinct name, in the order given. */
public record Pool(List<DeviceGroup> groups) {
    public Pool {
        groups = List.copyOf(groups);
        if (groups.isEmpty()) {
            throw new IllegalArgumentException("a pool needs at least one device");
        }
    }

    public int deviceCount() { return groups.stream().mapToInt(DeviceGroup::count).sum(); }

    public List<DeviceGroup> ofKind(DeviceKind kind) {
        return groups.stream().filter(g -> g.spec().kind() == kind).toList();
    }

    @Override
    public String toString() { return String.join(",", groups.stream().map(DeviceGroup::toString).toList()); }
}
