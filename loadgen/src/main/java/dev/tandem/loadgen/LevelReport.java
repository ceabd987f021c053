package dev.tandem.loadgen;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * What one sweep level measured.
 *
 * @param concurrency         clients each sending its next request when the last finished (concurrency sweeps)
 * @param rate                requests per second with Poisson arrivals (rate sweeps)
 * @param tokensPerSPerUser   mean over requests of (output tokens - 1) / (last token - first token), i.e. 1/TPOT
 * @param tokensPerS          every output token of the level / the level's wall time
 * @param joulesPerToken      the device's board power × the level's wall time / its output tokens
 * @param firstError          why the first failed request failed (null when none did)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record LevelReport(Integer concurrency, Double rate, int requests, int failed,
                          @JsonProperty("duration_s") double durationS, long outputTokens,
                          @JsonProperty("ttft_ms") Percentiles.Summary ttftMs,
                          @JsonProperty("tpot_ms") Percentiles.Summary tpotMs,
                          @JsonProperty("tokens_per_s_per_user") double tokensPerSPerUser,
                          @JsonProperty("tokens_per_s") double tokensPerS,
                          @JsonProperty("joules_per_token") double joulesPerToken, String firstError) {

    /** Summarises the timings of the requests that succeeded; watts may be 0 when unknown. */
    static LevelReport of(Integer concurrency, Double rate, List<RequestTiming> done, int failed, String firstError,
                          long wallNanos, double watts) {
        List<RequestTiming> ok = done.stream().filter(Objects::nonNull).toList();
        double[] ttft = ok.stream().filter(t -> t.firstTokenNanos() != 0).mapToDouble(RequestTiming::ttftMillis).toArray();
        double[] tpot = ok.stream().filter(RequestTiming::hasTpot).mapToDouble(RequestTiming::tpotMillis).toArray();
        long tokens = ok.stream().mapToLong(RequestTiming::outputTokens).sum();
        double seconds = wallNanos / 1e9;
        double perUser = Arrays.stream(tpot).map(ms -> 1000 / ms).average().orElse(0);
        double system = seconds > 0 ? tokens / seconds : 0;
        double joules = tokens > 0 ? watts * seconds / tokens : 0;
        return new LevelReport(concurrency, rate, ok.size() + failed, failed, seconds, tokens, Percentiles.summary(ttft),
                Percentiles.summary(tpot), perUser, system, joules, firstError);
    }

    /** "concurrency 4" or "rate 2.0/s". */
    String label() { return concurrency != null ? "concurrency " + concurrency : "rate " + rate + "/s"; }
}
