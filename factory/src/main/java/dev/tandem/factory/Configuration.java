package dev.tandem.factory;

/**
 * One way to build a replica: a GPU kind alone, a GPU kind with an LPU kind (attention-FFN
 * disaggregation, or prefill on the GPU and decode on the LPU), or an LPU kind alone.
 *
 * @param kind how the roles are placed
 * @param gpu  the GPU's catalog name, or null for {@link Kind#LPU}
 * @param lpu  the LPU's catalog name, or null for {@link Kind#GPU}
 */
public record Configuration(Kind kind, String gpu, String lpu) {
    /** DESIGN.md §6's policies as the factory uses them. */
    public enum Kind {
        /** Everything on the GPUs (policy single). */
        GPU,
        /** Prefill and decode attention on the GPUs, decode FFN on the LPUs (policy afd). */
        AFD,
        /** Prefill on the GPUs, all of decode on the LPUs (policy disagg). */
        DISAGG,
        /** Everything on the LPUs (policy lpu-only). */
        LPU
    }

    public Configuration {
        if ((kind == Kind.LPU) != (gpu == null) || (kind == Kind.GPU) != (lpu == null)) {
            throw new IllegalArgumentException(kind + " configuration with gpu " + gpu + " and lpu " + lpu);
        }
    }

    public static Configuration gpuOnly(String gpu) { return new Configuration(Kind.GPU, gpu, null); }

    public static Configuration lpuOnly(String lpu) { return new Configuration(Kind.LPU, null, lpu); }

    public boolean usesLpu() { return lpu != null; }

    public boolean usesGpu() { return gpu != null; }

    /** "rubin", "rubin+lp30 afd", "rubin+lp30 disagg", "lp30". */
    public String name() {
        return switch (kind) {
            case GPU -> gpu;
            case LPU -> lpu;
            case AFD -> gpu + "+" + lpu + " afd";
            case DISAGG -> gpu + "+" + lpu + " disagg";
        };
    }

    @Override
    public String toString() { return name(); }
}
