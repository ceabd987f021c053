package dev.tandem.loadgen;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Everything a bench-serve run measured and predicted, as written to --json (snake_case).
 *
 * @param target      what the requests went to: "engine" (in-process) or the server's URL
 * @param device      the device measured, whose board power gives J/token
 * @param watts       that board power (DeviceSpec.boardPowerWatts)
 * @param pool        the pool the prediction was compiled for
 */
public record SweepReport(String target, String model, String device, double watts, String pool, String promptLen,
                          String outputLen, int requestsPerLevel, long seed, List<LevelReport> levels,
                          List<PredictedFrontier.Point> predicted) {

    static final ObjectMapper JSON = new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(SerializationFeature.INDENT_OUTPUT);

    void write(Path file) throws IOException {
        JSON.writeValue(file.toFile(), this);
    }

    String toJson() throws IOException {
        return JSON.writeValueAsString(this);
    }
}
