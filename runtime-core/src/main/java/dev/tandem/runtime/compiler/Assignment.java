package dev.tandem.runtime.compiler;

import dev.tandem.runtime.device.DeviceKind;

/**
 * Which device group runs each role: prefill (embed, every layer, head), decode attention (with the
 * KV cache, the embedding and the head) and decode FFN. Every policy is a set of these.
 */
public record Assignment(DeviceGroup prefill, DeviceGroup attention, DeviceGroup ffn) {

    /** The named policy this assignment is an instance of, or "custom". */
    public String policyName() {
        boolean lpuAttn = attention.spec().kind() == DeviceKind.LPU;
        if (same(prefill, attention) && same(attention, ffn)) {
            return lpuAttn ? Policy.LPU_ONLY.cliName() : Policy.SINGLE.cliName();
        }
        if (same(attention, ffn)) {
            return Policy.DISAGG.cliName();
        }
        if (same(prefill, attention) && !lpuAttn && ffn.spec().kind() == DeviceKind.LPU) {
            return Policy.AFD.cliName();
        }
        return "custom";
    }

    public static boolean same(DeviceGroup a, DeviceGroup b) { return a.name().equals(b.name()); }

    @Override
    public String toString() {
        return "prefill " + prefill + ", decode attention " + attention + ", decode ffn " + ffn;
    }
}
