package dev.tandem.runtime.compiler;

import dev.tandem.runtime.device.DeviceSpec;
import dev.tandem.runtime.device.DeviceSpec.Link;

import java.util.List;
import java.util.OptionalDouble;

/**
 * DESIGN.md §6's cost model. An op on tp devices: max(bytes/tp/bandwidth, flops/tp/peak) plus a
 * launch overhead per kernel, plus an all-reduce of its output when tp > 1. A link transfer:
 * latency + bytes/bandwidth. Energy: power × time. Providers override op times: exact cycles on an
 * emulated LPU, a calibrated profile on a present device (labelled {@value #UNCALIBRATED} without one).
 */
public final class CostModel {
    private final List<OpCostProvider> providers;

    public CostModel(List<OpCostProvider> providers) { this.providers = List.copyOf(providers); }

    /** The label of a present device's op priced by the roofline: no profile answered for it (see tandem calibrate). */
    public static final String UNCALIBRATED = "roofline, uncalibrated";

    /** The roofline only, for tests and for comparing against providers. */
    public static CostModel roofline() { return new CostModel(List.of()); }

    /** An op's seconds and where the figure came from. */
    public record Cost(double seconds, String source) {}

    public Cost op(DeviceGroup g, ModelGraph graph, Op op, int tp) {
        for (OpCostProvider p : providers) {
            OptionalDouble s = p.seconds(g, graph, op, tp);
            if (s.isPresent()) {
                // A provider's figure is the whole op on tp devices, its collectives included.
                return new Cost(s.getAsDouble(), p.name());
            }
        }
        String source = g.spec().kind() == dev.tandem.runtime.device.DeviceKind.LPU
                ? "roofline on the preset's spec" + (providers.isEmpty() ? " (no exact LPU cost provider installed)"
                : " (ops no provider lowers)")
                : g.source() == DeviceSource.PRESENT ? UNCALIBRATED : "roofline";
        return new Cost(roofline(g.spec(), graph, op, tp) + allReduce(g, op, tp), source);
    }

    /**
     * The op's seconds by kernel class, from the provider that prices it (the first that answers
     * {@link #op}); empty when that provider does not split it or the roofline prices it.
     */
    public java.util.Optional<java.util.Map<String, Double>> kernels(DeviceGroup g, ModelGraph graph, Op op, int tp) {
        for (OpCostProvider p : providers) {
            if (p.seconds(g, graph, op, tp).isPresent()) {
                return p.kernelSeconds(g, graph, op, tp);
            }
        }
        return java.util.Optional.empty();
    }

    /** Seconds to move rows of activations between two stages of one group: a provider's figure, else the link's. */
    public double stageHop(DeviceGroup g, ModelGraph graph, int rows, long bytes, int fromStage, int toStage, int tp) {
        for (OpCostProvider p : providers) {
            OptionalDouble s = p.stageHopSeconds(g, graph, rows, fromStage, toStage, tp);
            if (s.isPresent()) {
                return s.getAsDouble();
            }
        }
        return transferSeconds(link(g, g), bytes);
    }

    /** The host's seconds per generated token when g computes the head: a provider's figure, else none modelled. */
    public double hostRoundTrip(DeviceGroup g, ModelGraph graph) {
        for (OpCostProvider p : providers) {
            OptionalDouble s = p.hostRoundTripSeconds(g, graph);
            if (s.isPresent()) {
                return s.getAsDouble();
            }
        }
        return 0;
    }

    /** Whether a stage holds its share as the device places it; empty where no provider models the device's memory. */
    public java.util.Optional<Boolean> stageHolds(DeviceGroup g, ModelGraph graph, OpCostProvider.StageShare share, int tp) {
        for (OpCostProvider p : providers) {
            java.util.Optional<Boolean> fits = p.stageHolds(g, graph, share, tp);
            if (fits.isPresent()) {
                return fits;
            }
        }
        return java.util.Optional.empty();
    }

    /** The roofline alone, without the all-reduce: what a provider's split can be weighed by. */
    public static double roofline(DeviceSpec s, ModelGraph graph, Op op, int tp) {
        double bytes = (double) (op.weightBytesRead() + op.kvBytesRead()) / tp + 2.0 * op.activationBytes();
        Double peak = s.peakFlops().get(graph.format());
        double computeSeconds = peak == null || peak <= 0 ? 0 : op.flops() / tp / peak;
        return Math.max(bytes / s.memoryBandwidth(), computeSeconds) + op.launches() * s.launchOverheadSeconds();
    }

    /** Tensor parallelism sums partial outputs after attention and FFN: one hop out, one back, all-to-all. */
    static double allReduce(DeviceGroup g, Op op, int tp) {
        if (tp <= 1 || (op.kind() != OpKind.ATTENTION && op.kind() != OpKind.FFN)) {
            return 0;
        }
        Link l = link(g, g);
        return 2 * l.latencySeconds() + 2.0 * op.activationBytes() * (tp - 1) / tp / l.bandwidth();
    }

    /** The link between devices of two groups: the slower bandwidth and the longer latency of both ends. */
    public static Link link(DeviceGroup a, DeviceGroup b) {
        Link ab = a.spec().links().getOrDefault(b.spec().kind(), Catalog.PCIE4);
        Link ba = b.spec().links().getOrDefault(a.spec().kind(), Catalog.PCIE4);
        return new Link(Math.min(ab.bandwidth(), ba.bandwidth()), Math.max(ab.latencySeconds(), ba.latencySeconds()));
    }

    public static double transferSeconds(Link l, long bytes) {
        return l.latencySeconds() + bytes / l.bandwidth();
    }
}
