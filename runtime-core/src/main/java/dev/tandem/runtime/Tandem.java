package dev.tandem.runtime;

import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.exec.PlanForward;
import dev.tandem.runtime.exec.ReferenceForward;

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
        checkContext(model, contextLength);
        return new Session(model, new ReferenceForward(model.config(), model.weights(), model.ropeInvFreq(), contextLength,
                ReferenceForward.DEFAULT_PREFILL_CHUNK), "cpu (reference)");
    }

    /**
     * A session whose weights and KV cache live on device: the executor's one-device plan. Fails
     * before uploading anything when the model does not fit
     * ({@link dev.tandem.runtime.device.DeviceMemoryException}), and with
     * {@link dev.tandem.runtime.device.DeviceBusyException} when the device runs one session at a
     * time and another open session holds it. The caller keeps ownership of the device.
     */
    public static Session open(Model model, Device device, int contextLength) {
        checkContext(model, contextLength);
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

    private static void checkContext(Model model, int contextLength) {
        if (contextLength < 1 || contextLength > model.config().contextLength()) {
            throw new IllegalArgumentException("context length must be in [1, " + model.config().contextLength()
                    + "] for " + model.source() + ", got " + contextLength);
        }
    }
}
