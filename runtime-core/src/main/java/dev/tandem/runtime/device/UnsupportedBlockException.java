package dev.tandem.runtime.device;

import java.util.List;

/**
 * A device's own block implementation cannot run what this model's architecture adds to the Llama
 * block (QKV biases, QK-norm, a head width of its own, experts), so it refuses the block before
 * anything is placed rather than compute something else. A device error, like an unsupported weight
 * format: the CLI maps it to exit code 4.
 */
public class UnsupportedBlockException extends DeviceUnavailableException {
    public UnsupportedBlockException(String device, String block, List<String> features) {
        super("device '" + device + "' cannot run this model's " + block + " block: its " + block
                + " implements the Llama block, without " + String.join(", ", features) + "; run the model on cpu");
    }

    /** Refuses w on device unless it is the Llama attention block. */
    public static void requirePlainAttention(String device, AttentionWeights w) {
        if (!w.isPlainLlama()) {
            throw new UnsupportedBlockException(device, "attention", w.config().arch().attentionFeatures(w.config()));
        }
    }
}
