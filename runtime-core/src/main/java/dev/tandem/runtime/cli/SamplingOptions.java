package dev.tandem.runtime.cli;

import dev.tandem.runtime.generate.Sampling;
import picocli.CommandLine.Option;

/**
 * The sampling flags generate and run share (picocli mixin). Their defaults are {@link Sampling#defaults()},
 * llama.cpp's llama-cli's, with a fixed seed so the same command prints the same text; --temp 0 is greedy.
 */
final class SamplingOptions {
    private static final Sampling DEFAULTS = Sampling.defaults();

    @Option(names = {"--temp", "--temperature"}, paramLabel = "T", description = "0 is greedy (default ${DEFAULT-VALUE})")
    float temperature = DEFAULTS.temperature();

    @Option(names = "--top-k", paramLabel = "K", description = "keep the K most likely tokens; 0 disables (default ${DEFAULT-VALUE})")
    int topK = DEFAULTS.topK();

    @Option(names = "--top-p", paramLabel = "P", description = "nucleus sampling mass; 1 disables (default ${DEFAULT-VALUE})")
    float topP = DEFAULTS.topP();

    @Option(names = "--min-p", paramLabel = "P",
            description = "keep tokens at least P times as likely as the likeliest; 0 disables (default ${DEFAULT-VALUE})")
    float minP = DEFAULTS.minP();

    @Option(names = "--repeat-penalty", paramLabel = "R",
            description = "divide a positive logit (multiply a negative one) of a token seen in the last --repeat-last-n; 1 disables (default ${DEFAULT-VALUE})")
    float repeatPenalty = DEFAULTS.penalties().repeat();

    @Option(names = "--repeat-last-n", paramLabel = "N",
            description = "tokens (prompt included) the penalties look back over; -1 all, 0 none (default ${DEFAULT-VALUE})")
    int repeatLastN = DEFAULTS.penalties().lastN();

    @Option(names = "--presence-penalty", paramLabel = "A", description = "subtracted from the logit of a token seen in the window (default ${DEFAULT-VALUE})")
    float presencePenalty = DEFAULTS.penalties().presence();

    @Option(names = "--frequency-penalty", paramLabel = "A", description = "times its count, subtracted from a seen token's logit (default ${DEFAULT-VALUE})")
    float frequencyPenalty = DEFAULTS.penalties().frequency();

    @Option(names = "--seed", paramLabel = "S", description = "sampling seed (default ${DEFAULT-VALUE})")
    long seed = DEFAULTS.seed();

    /** The sampling these flags describe; invalid values are usage errors naming the flag. */
    Sampling sampling(int maxTokens, boolean stopAtEos) {
        try {
            Sampling.Penalties penalties = new Sampling.Penalties(repeatPenalty, repeatLastN, presencePenalty, frequencyPenalty);
            return new Sampling(temperature, topK, topP, minP, penalties, seed, maxTokens, stopAtEos, new int[0], -1);
        } catch (IllegalArgumentException e) {
            throw new ExitCodes.UsageException(flagOf(e.getMessage()) + ": " + e.getMessage());
        }
    }

    /** The flag a {@link Sampling} complaint is about: its messages start with the setting's name. */
    private static String flagOf(String message) {
        String[][] byPrefix = {{"temperature", "--temp"}, {"top-k", "--top-k"}, {"top-p", "--top-p"}, {"min-p", "--min-p"},
                {"repeat penalty", "--repeat-penalty"}, {"repeat-last-n", "--repeat-last-n"},
                {"presence and frequency", "--presence-penalty/--frequency-penalty"}};
        for (String[] p : byPrefix) {
            if (message.startsWith(p[0])) {
                return p[1];
            }
        }
        return "sampling";
    }
}
