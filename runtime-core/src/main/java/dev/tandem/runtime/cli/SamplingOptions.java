package dev.tandem.runtime.cli;

import dev.tandem.runtime.Sampling;
import picocli.CommandLine.Option;

/** The sampling flags generate and run share (picocli mixin); the seed's default differs between them. */
final class SamplingOptions {
    @Option(names = "--temperature", paramLabel = "T", defaultValue = "0", description = "0 is greedy (default ${DEFAULT-VALUE})")
    float temperature;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "1", description = "nucleus sampling mass; 1 disables (default ${DEFAULT-VALUE})")
    float topP;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "0", description = "keep the K most likely tokens; 0 disables (default ${DEFAULT-VALUE})")
    int topK;

    /** The sampling these flags describe; invalid values are usage errors. */
    Sampling sampling(long seed, int maxTokens, boolean stopAtEos) {
        try {
            return new Sampling(temperature, topK, topP, seed, maxTokens, stopAtEos);
        } catch (IllegalArgumentException e) {
            throw new ExitCodes.UsageException(e.getMessage());
        }
    }
}
