package dev.tandem.factory;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/** A configuration's operating points at the site's scale, and the tiers none of them reaches. */
public record ConfigurationFrontier(Configuration configuration, List<SitePoint> points) {
    public ConfigurationFrontier {
        points = List.copyOf(points);
    }

    /** The fastest tokens/s per user, or 0 when nothing fits. */
    public double fastestUser() { return points.stream().mapToDouble(SitePoint::tokensPerSPerUser).max().orElse(0); }

    /** The point with the most tokens/s per MW: the throughput end. */
    public Optional<SitePoint> throughputEnd() { return points.stream().max(Comparator.comparingDouble(SitePoint::tokensPerSPerMW)); }

    /** The point with the most tokens/s per user: the fast end. */
    public Optional<SitePoint> fastEnd() { return points.stream().max(Comparator.comparingDouble(SitePoint::tokensPerSPerUser)); }

    /** The most tokens/s per MW among points at or above a speed, if any reaches it. */
    public Optional<SitePoint> bestAtLeast(double tokensPerSPerUser) {
        return points.stream().filter(p -> p.tokensPerSPerUser() >= tokensPerSPerUser)
                .max(Comparator.comparingDouble(SitePoint::tokensPerSPerMW));
    }

    public List<Tier> unreachable(List<Tier> tiers) {
        return tiers.stream().filter(t -> t.minTokensPerSPerUser() > fastestUser()).toList();
    }
}
