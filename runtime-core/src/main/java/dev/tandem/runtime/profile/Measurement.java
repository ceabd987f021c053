package dev.tandem.runtime.profile;

import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.Map;
import java.util.TreeMap;

/**
 * One timed point of a profile: an op kind at one shape and the seconds one call took on the
 * device's own clock. Profiles keep the raw points; {@link ProfileModel} derives curves from them, so
 * a better interpolation needs no recalibration.
 *
 * @param kind    the op and its variant, e.g. "matmul F32 hot", "attention", "rmsnorm"; see {@link OpKinds}
 * @param shape   the op's dimensions by name (rows, cols, batch, start, heads, kv_heads, head_dim, n)
 * @param seconds seconds per call (a low quantile of seven timed runs, see Calibrator)
 */
public record Measurement(@JsonProperty("kind") String kind, @JsonProperty("shape") Map<String, Long> shape,
                          @JsonProperty("seconds") double seconds) {
    public Measurement {
        shape = shape == null ? Map.of() : new TreeMap<>(shape);
    }

    /** A dimension, or fallback when the point does not name it. */
    long dim(String name, long fallback) {
        Long v = shape.get(name);
        return v == null ? fallback : v;
    }
}
