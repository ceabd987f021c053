package dev.tandem.runtime;

import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.error.ContextLengthException;
import dev.tandem.runtime.error.SafeText;
import dev.tandem.runtime.exec.PlanForward;
import dev.tandem.runtime.exec.ReferenceForward;
import dev.tandem.runtime.model.LlamaConfig;

/** Entry point of the Java API: opens generation sessions on a loaded model. */
public final class Tandem {
    private Tandem() {}

    /** A session on the host CPU whose KV cache covers the model's whole context length. */
    public static Session open(Model model) {
        return open(model, model.config().contextLength());
    }

    /**
     * A session on the host CPU (the reference forward pass) whose KV cache holds contextLength
     * positions (at most the model's), which bounds its memory for long-context models.
     */
    public static Session open(Model model, int contextLength) {
        checkContext(model, contextLength, true);
        return new Session(model, new ReferenceForward(model.config(), model.weights(), model.ropeInvFreq(), contextLength,
                ReferenceForward.HOST_PREFILL_CHUNK), "cpu (reference)");
    }

    /**
     * A session whose weights and KV cache live on device: the executor's one-device plan. Fails
     * before uploading anything when the model does not fit
     * ({@link dev.tandem.runtime.device.DeviceMemoryException}), and with
     * {@link dev.tandem.runtime.device.DeviceBusyException} when the device runs one session at a
     * time and another open session holds it. The caller keeps ownership of the device.
     */
    public static Session open(Model model, Device device, int contextLength) {
        checkContext(model, contextLength, false);
        return new Session(model, PlanForward.onDevice(device, model.config(), model.weights(), model.ropeInvFreq(), contextLength,
                ReferenceForward.DEFAULT_PREFILL_CHUNK), device.spec().name());
    }

    /**
     * A session on any forward pass (a compiled plan's, say); the session closes it. For the
     * runtime's own plan executor: {@code Forward} is internal (not exported), so code outside this
     * module opens sessions with the methods above.
     */
    public static Session open(Model model, dev.tandem.runtime.exec.Forward forward, String deviceName) {
        return new Session(model, forward, deviceName);
    }

    /** The model's own limit; for host sessions also what one KV array per layer and the heap can hold. */
    private static void checkContext(Model model, int contextLength, boolean onHost) {
        LlamaConfig c = model.config();
        if (contextLength < 1 || contextLength > c.contextLength()) {
            throw new ContextLengthException("context length " + contextLength + " is outside [1, " + c.contextLength()
                    + "], the limit of " + SafeText.path(model.source()));
        }
        if (!onHost) {
            return; // a device forward checks its whole footprint against the device's memory
        }
        long perPosition = (long) c.kvDim();
        long arrayLimit = (Integer.MAX_VALUE - 8) / perPosition;
        // Against the whole heap, not what is free now: garbage would make that a guess, and a cache
        // larger than the whole heap fails for certain.
        long heapLimit = Runtime.getRuntime().maxMemory() / (2L * c.nLayers() * perPosition * Float.BYTES); // keys and values
        long limit = Math.min(arrayLimit, heapLimit);
        if (contextLength > limit) {
            throw new ContextLengthException(String.format(java.util.Locale.ROOT,
                    "context length %d needs a %.1f GiB KV cache on the host; the limit here is %d positions (%s); "
                            + "give a smaller context", contextLength,
                    2.0 * c.nLayers() * perPosition * Float.BYTES * contextLength / (1L << 30), limit,
                    arrayLimit <= heapLimit ? "one array per layer" : "the JVM's whole heap, raise it with -Xmx"));
        }
    }
}
