package dev.tandem.loadgen;

import org.knowm.xchart.AnnotationText;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.VectorGraphicsEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * The per-user vs per-system frontier: measured tokens/s per user on x, tokens/s per system on y,
 * one point per level, and the compiler's predicted frontier (one point per batch size) on the same axes.
 */
final class FrontierPlot {
    private FrontierPlot() {}

    static XYChart chart(SweepReport report) {
        XYChart chart = new XYChartBuilder().width(800).height(560)
                .title("Frontier: " + report.model() + " on " + report.device())
                .xAxisTitle("tokens/s per user").yAxisTitle("tokens/s per system").build();
        chart.getStyler().setChartBackgroundColor(java.awt.Color.WHITE);
        chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.OutsideS);
        List<LevelReport> measured = report.levels().stream().filter(l -> l.tokensPerS() > 0 && l.tokensPerSPerUser() > 0).toList();
        List<PredictedFrontier.Point> predicted = report.predicted().stream()
                .filter(p -> p.tokensPerS() != null && p.tokensPerSPerUser() != null).toList();
        double top = Math.max(measured.stream().mapToDouble(LevelReport::tokensPerS).max().orElse(0),
                predicted.stream().mapToDouble(PredictedFrontier.Point::tokensPerS).max().orElse(0));
        double lift = 0.03 * top;
        if (!measured.isEmpty()) {
            XYSeries m = chart.addSeries("measured (" + report.target() + ")",
                    measured.stream().mapToDouble(LevelReport::tokensPerSPerUser).toArray(),
                    measured.stream().mapToDouble(LevelReport::tokensPerS).toArray());
            m.setMarker(SeriesMarkers.CIRCLE);
            for (LevelReport l : measured) {
                label(chart, l.concurrency() != null ? "c=" + l.concurrency() : l.rate() + "/s", l.tokensPerSPerUser(), l.tokensPerS() + lift);
            }
        }
        if (!predicted.isEmpty()) {
            XYSeries p = chart.addSeries("predicted (tandem compile --pool " + report.pool() + ")",
                    predicted.stream().map(PredictedFrontier.Point::tokensPerSPerUser).filter(Objects::nonNull).mapToDouble(Double::doubleValue).toArray(),
                    predicted.stream().map(PredictedFrontier.Point::tokensPerS).filter(Objects::nonNull).mapToDouble(Double::doubleValue).toArray());
            p.setMarker(SeriesMarkers.DIAMOND);
            for (PredictedFrontier.Point point : predicted) {
                label(chart, "b=" + point.batch(), point.tokensPerSPerUser(), point.tokensPerS() + lift);
            }
        }
        if (measured.isEmpty() && predicted.isEmpty()) {
            chart.addSeries("no data", new double[] {0}, new double[] {0});
        }
        return chart;
    }

    /** Names a point (c: concurrency, b: batch) at it; callers lift y so the text clears the marker. */
    private static void label(XYChart chart, String text, double x, double y) {
        chart.addAnnotation(new AnnotationText(text, x, y, false));
    }

    /** Writes prefix.png and prefix.svg. */
    static void write(SweepReport report, Path prefix) throws IOException {
        XYChart chart = chart(report);
        String base = prefix.toString().replaceFirst("\\.(png|svg)$", "");
        BitmapEncoder.saveBitmap(chart, base, BitmapEncoder.BitmapFormat.PNG);
        VectorGraphicsEncoder.saveVectorGraphic(chart, base, VectorGraphicsEncoder.VectorGraphicsFormat.SVG);
    }
}
