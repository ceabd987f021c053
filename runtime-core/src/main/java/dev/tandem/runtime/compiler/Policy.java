package dev.tandem.runtime.compiler;

import java.util.Locale;

/** DESIGN.md §6's policies. Each is a family of role assignments; the compiler picks the best of the family. */
public enum Policy {
    /** Everything on one device group (tensor/pipeline parallel over its devices). */
    SINGLE("single"),
    /** Everything on one LPU group, weights sharded over enough chips. */
    LPU_ONLY("lpu-only"),
    /** Prefill on one group, decode on another; the KV cache moves once per request. */
    DISAGG("disagg"),
    /** Prefill and decode attention on a GPU/CPU group, decode FFN on an LPU group, ping-ponging micro-batches. */
    AFD("afd"),
    /** The best assignment of any roles to any groups under an {@link Objective}. */
    AUTO("auto");

    private final String cliName;

    Policy(String cliName) { this.cliName = cliName; }

    public String cliName() { return cliName; }

    public static Policy parse(String name) {
        for (Policy p : values()) {
            if (p.cliName.equals(name.toLowerCase(Locale.ROOT))) {
                return p;
            }
        }
        throw new PolicyException("unknown policy '" + name + "'; policies: single, lpu-only, disagg, afd, auto");
    }
}
