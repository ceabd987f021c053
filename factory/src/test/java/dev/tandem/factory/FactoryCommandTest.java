package dev.tandem.factory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.runtime.cli.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** tandem factory through the CLI: output, JSON, plots, and each bad input's one line and exit code. */
class FactoryCommandTest {
    @TempDir
    Path dir;

    record Result(int code, String out, String err) {}

    static Result tandem(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(code, out.toString(), err.toString());
    }

    static void assertOneLineError(Result r, int code, String... expected) {
        assertEquals(code, r.code(), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
        for (String s : expected) {
            assertTrue(r.err().contains(s), "'" + r.err() + "' should contain '" + s + "'");
        }
    }

    @Test
    void plansASiteAsJsonWithPlots() throws IOException {
        Path plots = dir.resolve("plots");
        Result r = tandem("factory", "--shape", "llama-3-8b", "--power", "20MW", "--devices", "rubin,lp30", "--lpu-share", "0,0.25",
                "--allow-unreachable", "--json", "--plot", plots.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode root = new ObjectMapper().readTree(r.out());
        assertEquals(2e7, root.get("power_w").asDouble());
        assertEquals(1.2, root.get("facility").get("pue").asDouble());
        assertEquals(3, root.get("configurations").size(), "rubin, rubin+lp30 afd, rubin+lp30 disagg");
        for (JsonNode c : root.get("configurations")) {
            for (JsonNode p : c.get("points")) {
                double perMw = p.get("tokens_per_s_per_mw").asDouble();
                assertEquals(perMw * 20, p.get("site_tokens_per_s").asDouble(), perMw * 20 * 1e-12);
                assertEquals(perMw / 1e6, p.get("tokens_per_joule").asDouble(), perMw * 1e-15);
            }
        }
        assertEquals(2, root.get("mixes").size());
        for (JsonNode m : root.get("mixes")) {
            assertTrue(m.get("watts_used").asDouble() <= 2e7 * (1 + 1e-9), m.toString());
            double sum = 0;
            for (JsonNode u : m.get("allocation")) {
                sum += u.get("revenue_per_year").asDouble();
            }
            assertEquals(m.get("revenue_per_year").asDouble(), sum, 1e-6 * sum);
        }
        JsonNode best = root.get("best").get(0);
        assertEquals("rubin", best.get("gpu").asText());
        assertTrue(best.get("revenue_per_year").asDouble() >= best.get("all_gpu_revenue_per_year").asDouble());
        for (String f : new String[] {"factory-frontier.png", "factory-frontier.svg", "factory-revenue.png", "factory-revenue.svg"}) {
            assertTrue(Files.size(plots.resolve(f)) > 1000, f);
        }
    }

    @Test
    void printsATableWithTheBestShare() {
        Result r = tandem("factory", "--shape", "llama-3-8b", "--power", "1GW", "--devices", "b200", "--pue", "1.1",
                "--allow-unreachable");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("throughput end"), r.out());
        assertTrue(r.out().contains("best mix: b200 at 0% LPU"), r.out());
        assertTrue(r.out().contains("PUE 1.10"), r.out());
        assertTrue(r.out().contains("$150"), "the tier b200 cannot reach is reported: " + r.out());
    }

    @Test
    void aFixedSplitIsEvaluated() throws IOException {
        Result r = tandem("factory", "--shape", "llama-3-8b", "--power", "100MW", "--devices", "rubin", "--split", "25,25,25,25,0",
                "--allow-unreachable", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode tiers = new ObjectMapper().readTree(r.out()).get("mixes").get(0).get("tiers");
        for (int t = 0; t < 4; t++) {
            assertTrue(tiers.get(t).get("watts").asDouble() <= 25e6 * (1 + 1e-9), tiers.get(t).toString());
            assertTrue(tiers.get(t).get("tokens_per_s").asDouble() > 0, "rubin reaches the first four default tiers");
        }
        assertEquals(0, tiers.get(4).get("watts").asDouble());
    }

    @Test
    void badInputIsOneLineWithItsExitCode() throws IOException {
        assertOneLineError(tandem("factory", "--shape", "llama-3-8b", "--power", "1GW", "--devices", "rubin,a100"), 2,
                "unknown device 'a100'", "known:");
        assertOneLineError(tandem("factory", "--shape", "llama-3-8b", "--power", "0MW", "--devices", "rubin"), 2, "--power must be positive");
        assertOneLineError(tandem("factory", "--shape", "llama-3-8b", "--power", "-1GW", "--devices", "rubin"), 2, "--power");
        assertOneLineError(tandem("factory", "--shape", "llama-3-8b", "--power", "lots", "--devices", "rubin"), 2, "--power 'lots'");
        assertOneLineError(tandem("factory", "--shape", "llama-3-8b", "--power", "1GW", "--devices", "rubin", "--workload", "1024"), 2,
                "--workload");
        assertOneLineError(tandem("factory", "--shape", "llama-3-8b", "--power", "1GW", "--devices", "rubin", "--lpu-share", "1.5"), 2,
                "--lpu-share");
        assertOneLineError(tandem("factory", "--shape", "llama-3-8b", "--power", "1GW", "--devices", "rubin", "--split", "50,50"), 2,
                "--split needs one percentage per tier (5)");
        assertOneLineError(tandem("factory", "--shape", "llama-3-8b", "--power", "1GW", "--devices", "rubin", "--pue", "0.5"), 2, "--pue");

        Path bad = dir.resolve("tiers.yaml");
        Files.writeString(bad, "tiers:\n  - name: fast\n    price_per_m_tokens: 45\n    min_tokens_per_s_per_user: quick\n");
        assertOneLineError(tandem("factory", "--shape", "llama-3-8b", "--power", "1GW", "--devices", "rubin", "--tiers", bad.toString()), 3,
                "tiers.yaml", "line 4", "tiers[0].min_tokens_per_s_per_user");

        Path fast = dir.resolve("fast.json");
        Files.writeString(fast, "{\"tiers\": [{\"name\": \"warp\", \"price_per_m_tokens\": 500, \"min_tokens_per_s_per_user\": 1e6}]}");
        assertOneLineError(tandem("factory", "--shape", "llama-3-8b", "--power", "1GW", "--devices", "rubin", "--tiers", fast.toString()), 4,
                "tier 'warp' needs 1000000 tokens/s per user", "rubin");
    }
}
