package dev.tandem.factory;

import org.knowm.xchart.AnnotationText;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.VectorGraphicsEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.XYStyler;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * The factory's two plots: every configuration's frontier (tokens/s per user against tokens/s per
 * MW, log-log) with each tier's speed floor as a band edge, and revenue per year against LPU share.
 */
final class FactoryPlots {
    private FactoryPlots() {}

    static XYChart frontier(FactoryReport report) {
        XYChart chart = new XYChartBuilder().width(960).height(640)
                .title("Token factory frontier: " + report.model() + " (" + report.weights() + "), ISL:OSL " + report.requests())
                .xAxisTitle("output tokens/s per user").yAxisTitle("output tokens/s per MW of facility power").build();
        XYStyler s = chart.getStyler();
        s.setChartBackgroundColor(Color.WHITE);
        s.setLegendPosition(Styler.LegendPosition.OutsideE);
        chart.getStyler().setXAxisLogarithmic(true);
        chart.getStyler().setYAxisLogarithmic(true);
        double yMin = Double.MAX_VALUE, yMax = 0, xMin = Double.MAX_VALUE, xMax = 0;
        for (ConfigurationFrontier f : report.plan().frontiers()) {
            if (f.points().isEmpty()) {
                continue;
            }
            List<SitePoint> sorted = f.points().stream().sorted(Comparator.comparingDouble(SitePoint::tokensPerSPerUser)).toList();
            XYSeries series = chart.addSeries(f.configuration().name(), sorted.stream().mapToDouble(SitePoint::tokensPerSPerUser).toArray(),
                    sorted.stream().mapToDouble(SitePoint::tokensPerSPerMW).toArray());
            series.setMarker(SeriesMarkers.CIRCLE);
            for (SitePoint p : sorted) {
                yMin = Math.min(yMin, p.tokensPerSPerMW());
                yMax = Math.max(yMax, p.tokensPerSPerMW());
                xMin = Math.min(xMin, p.tokensPerSPerUser());
                xMax = Math.max(xMax, p.tokensPerSPerUser());
            }
        }
        if (yMax == 0) {
            chart.addSeries("nothing fits", new double[] {1}, new double[] {1});
            return chart;
        }
        double lo = yMin / 2, hi = yMax * 2;
        s.setYAxisMin(lo);
        s.setYAxisMax(hi);
        for (Tier t : report.plan().tiers()) {
            double x = Math.max(t.minTokensPerSPerUser(), xMin / 2);
            XYSeries edge = chart.addSeries("tier " + t.name() + " >= " + trim(t.minTokensPerSPerUser()) + " tok/s/user", new double[] {x, x},
                    new double[] {lo, hi});
            edge.setMarker(SeriesMarkers.NONE);
            edge.setLineColor(Color.GRAY);
            edge.setShowInLegend(false);
            chart.addAnnotation(new AnnotationText(t.name(), x * 1.15, hi / 1.4, false));
        }
        s.setXAxisMin(Math.min(xMin / 2, report.plan().tiers().stream().mapToDouble(Tier::minTokensPerSPerUser).filter(v -> v > 0).min().orElse(xMin)));
        s.setXAxisMax(Math.max(xMax * 2, report.plan().tiers().stream().mapToDouble(Tier::minTokensPerSPerUser).max().orElse(xMax) * 1.5));
        return chart;
    }

    static XYChart revenue(FactoryReport report) {
        XYChart chart = new XYChartBuilder().width(800).height(560)
                .title("Revenue against LPU share: " + report.model() + ", " + FactoryReport.watts(report.plan().powerWatts()))
                .xAxisTitle("share of the site's power on LPU nodes (%)").yAxisTitle("revenue per year ($B)").build();
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
        boolean any = false;
        for (Planner.Best b : report.plan().best()) {
            List<Planner.Mix> rows = report.plan().mixes().stream()
                    .filter(m -> Objects.equals(m.gpu(), b.gpu()) && Objects.equals(m.lpu(), b.lpu())).toList();
            XYSeries series = chart.addSeries(b.best().name() + String.format(Locale.ROOT, " (best %.0f%%)", b.best().lpuShare() * 100),
                    rows.stream().mapToDouble(m -> m.lpuShare() * 100).toArray(),
                    rows.stream().mapToDouble(m -> m.allocation().revenuePerYear() / 1e9).toArray());
            series.setMarker(SeriesMarkers.CIRCLE);
            any = true;
        }
        if (!any) {
            chart.addSeries("no mixes", new double[] {0}, new double[] {0});
        }
        return chart;
    }

    /** Writes factory-frontier.{png,svg} and factory-revenue.{png,svg} into dir. */
    static void write(FactoryReport report, Path dir) throws IOException {
        save(frontier(report), dir.resolve("factory-frontier").toString());
        save(revenue(report), dir.resolve("factory-revenue").toString());
    }

    private static void save(XYChart chart, String base) throws IOException {
        BitmapEncoder.saveBitmap(chart, base, BitmapEncoder.BitmapFormat.PNG);
        VectorGraphicsEncoder.saveVectorGraphic(chart, base, VectorGraphicsEncoder.VectorGraphicsFormat.SVG);
    }

    private static String trim(double v) {
        return v == Math.rint(v) ? String.valueOf((long) v) : String.valueOf(v);
    }
}
