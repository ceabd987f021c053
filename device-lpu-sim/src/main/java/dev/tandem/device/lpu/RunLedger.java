package dev.tandem.device.lpu;

import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The statistics of every program a device ran: all of them, and per step (an embedding starts a
 * step; one token makes it a decode step, more a prefill chunk), which the device's report line
 * turns into cycles per token and unit utilisation.
 */
final class RunLedger {
    private final ChipConfig config;
    private RunStats total, decode, prefill;
    private long programs;
    private RunStats currentStep;
    private int currentStepTokens;
    private long decodeTokens, prefillTokens;

    RunLedger(ChipConfig config) {
        this.config = config;
    }

    /** Closes the step in flight and opens one of tokens tokens. */
    void startStep(int tokens) {
        finishStep();
        currentStep = new RunStats(config, 1, 0, 0, Map.of());
        currentStepTokens = tokens;
    }

    void add(RunStats r) {
        total = total == null ? r : total.plus(r);
        programs++;
        if (currentStep != null) {
            currentStep = currentStep.plus(r);
        }
    }

    /** Cycles of every program so far. */
    long cycles() { return total == null ? 0 : total.cycles(); }

    void finishStep() {
        if (currentStep == null) {
            return;
        }
        if (currentStepTokens == 1) {
            decode = decode == null ? currentStep : decode.plus(currentStep);
            decodeTokens++;
        } else {
            prefill = prefill == null ? currentStep : prefill.plus(currentStep);
            prefillTokens += currentStepTokens;
        }
        currentStep = null;
    }

    Optional<RunStats> decodeStats() { return Optional.ofNullable(decode); }

    long decodeTokens() { return decodeTokens; }

    /** The report line of a device of chips chips. */
    String report(int chips) {
        finishStep();
        if (decode == null || decodeTokens == 0) {
            if (total == null) {
                return "lpu: " + config.name() + " x" + chips + ": nothing ran";
            }
            // A plan's stage runs blocks, not whole steps (no embedding marks a step): report them all.
            StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
                    "lpu: preset=%s chips=%d programs=%d cycles=%d (%.3f ms at %.0f MHz) busiest=%s utilisation",
                    config.name(), chips, programs, total.cycles(), total.seconds() * 1e3, config.clockHz() / 1e6, total.busiestUnit()));
            for (Unit u : Unit.values()) {
                sb.append(String.format(Locale.ROOT, " %s=%.1f%%", u, 100 * total.utilisation(u)));
            }
            return sb.toString();
        }
        long perToken = decode.cycles() / decodeTokens;
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
                "lpu: preset=%s chips=%d cycles/token=%d tokens/s/user=%.1f (at %.0f MHz, op by op) busiest=%s utilisation",
                config.name(), chips, perToken, config.clockHz() / perToken, config.clockHz() / 1e6, decode.busiestUnit()));
        for (Unit u : Unit.values()) {
            sb.append(String.format(Locale.ROOT, " %s=%.1f%%", u, 100 * decode.busyCycles().get(u) / ((double) decode.cycles() * chips)));
        }
        return sb.toString();
    }
}
