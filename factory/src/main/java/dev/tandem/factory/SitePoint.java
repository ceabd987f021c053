package dev.tandem.factory;

/**
 * An operating point with the facility's power: what one unit yields and takes from the site.
 *
 * @param gpuWatts facility watts of the unit's GPU nodes (with their hosts, network and PUE)
 * @param lpuWatts the same for its LPU nodes; these count against the LPU share
 */
public record SitePoint(Configuration configuration, OperatingPoint point, double gpuWatts, double lpuWatts) {
    public SitePoint {
        if (!(gpuWatts >= 0) || !(lpuWatts >= 0) || !(gpuWatts + lpuWatts > 0) || !Double.isFinite(gpuWatts + lpuWatts)) {
            throw new IllegalArgumentException(configuration + ": a unit must draw positive, finite power");
        }
    }

    public double watts() { return gpuWatts + lpuWatts; }

    public double tokensPerSPerUser() { return point.tokensPerSPerUser(); }

    /** Output tokens/s per unit. */
    public double tokensPerS() { return point.tokensPerS(); }

    /** Output tokens/s per MW of facility power. */
    public double tokensPerSPerMW() { return point.tokensPerS() / watts() * 1e6; }

    /** Output tokens per joule of facility energy. */
    public double tokensPerJoule() { return point.tokensPerS() / watts(); }

    /** Share of the unit's power on LPU nodes. */
    public double lpuFraction() { return lpuWatts / watts(); }

    public String label() { return configuration.name() + " b=" + point.batch(); }
}
