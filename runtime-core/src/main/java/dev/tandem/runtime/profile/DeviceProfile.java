package dev.tandem.runtime.profile;

import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.List;

/**
 * A present device's measured op costs (Vidur's approach: time each kernel over a grid of shapes on
 * the real device once, then predict any plan by interpolating), as stored under the profile
 * directory. {@link ProfileStore} is the one place that reads and writes them.
 *
 * @param formatVersion      the file layout's version ({@link #FORMAT_VERSION})
 * @param device             the pool name it was measured for (cpu, opencl, or with options: opencl:platform=1)
 * @param deviceName         the device's own name, as its spec gives it
 * @param machine            the machine and build it was measured on
 * @param createdAt          ISO-8601 time of the calibration
 * @param cacheBytes         the last-level cache the "hot" and "cold" matmul points straddle
 * @param calibrationSeconds how long measuring took
 * @param measurements       every timed point
 */
public record DeviceProfile(@JsonProperty("format_version") int formatVersion, @JsonProperty("device") String device,
                            @JsonProperty("device_name") String deviceName, @JsonProperty("machine") MachineIdentity machine,
                            @JsonProperty("created_at") String createdAt, @JsonProperty("cache_bytes") long cacheBytes,
                            @JsonProperty("calibration_seconds") double calibrationSeconds,
                            @JsonProperty("measurements") List<Measurement> measurements) {
    public static final int FORMAT_VERSION = 1;

    public DeviceProfile {
        measurements = measurements == null ? List.of() : List.copyOf(measurements);
    }

    /** The same profile with more points (a format calibrated later). */
    public DeviceProfile plus(List<Measurement> more, double seconds) {
        List<Measurement> all = new java.util.ArrayList<>(measurements);
        all.addAll(more);
        return new DeviceProfile(formatVersion, device, deviceName, machine, createdAt, cacheBytes,
                calibrationSeconds + seconds, all);
    }
}
