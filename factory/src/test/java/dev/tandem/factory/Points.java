package dev.tandem.factory;

import java.util.List;

/** Hand-made operating points for tests: a unit's speed, tokens/s and facility watts on each side. */
final class Points {
    private Points() {}

    static SitePoint gpu(String name, int batch, double perUser, double tokensPerS, double watts) {
        return point(Configuration.gpuOnly(name), batch, perUser, tokensPerS, watts, 0);
    }

    static SitePoint lpu(String name, int batch, double perUser, double tokensPerS, double watts) {
        return point(Configuration.lpuOnly(name), batch, perUser, tokensPerS, 0, watts);
    }

    static SitePoint mixed(String gpu, String lpu, int batch, double perUser, double tokensPerS, double gpuWatts, double lpuWatts) {
        return point(new Configuration(Configuration.Kind.DISAGG, gpu, lpu), batch, perUser, tokensPerS, gpuWatts, lpuWatts);
    }

    private static SitePoint point(Configuration c, int batch, double perUser, double tokensPerS, double gpuWatts, double lpuWatts) {
        OperatingPoint p = new OperatingPoint(batch, perUser, tokensPerS,
                List.of(new OperatingPoint.DeviceCount(c.usesGpu() ? c.gpu() : c.lpu(), !c.usesGpu(), 1, 1, 1)), "test");
        return new SitePoint(c, p, gpuWatts, lpuWatts);
    }
}
