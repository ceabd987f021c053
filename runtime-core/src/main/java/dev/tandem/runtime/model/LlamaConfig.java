package dev.tandem.runtime.model;

/**
 * Hyper-parameters of a Llama-architecture model.
 *
 * @param dim           model width (embedding length)
 * @param hiddenDim     FFN inner width
 * @param nLayers       transformer blocks
 * @param nHeads        query heads
 * @param nKvHeads      key/value heads (GQA when fewer than nHeads)
 * @param vocabSize     rows of the embedding and the output layer
 * @param contextLength maximum positions (KV cache length)
 * @param rmsEps        RMSNorm epsilon
 * @param ropeTheta     RoPE base
 * @param ropeScaling   Llama-3 style frequency scaling, or null
 * @param headDim       width of one attention head; dim/nHeads for Llama, its own key for Qwen3
 * @param arch          what this architecture adds to the Llama block (biases, QK-norm, experts)
 */
public record LlamaConfig(int dim, int hiddenDim, int nLayers, int nHeads, int nKvHeads, int vocabSize,
                          int contextLength, float rmsEps, float ropeTheta, RopeScaling ropeScaling,
                          int headDim, ArchOptions arch) {

    public LlamaConfig {
        if (arch == null) {
            throw new IllegalArgumentException("arch is required (ArchOptions.LLAMA for a plain Llama)");
        }
        if (headDim <= 0 || headDim % 2 != 0) {
            throw new IllegalArgumentException("headDim must be positive and even, got " + headDim);
        }
    }

    /** A plain Llama: head width dim/nHeads, no biases, no QK-norm, dense FFNs. */
    public LlamaConfig(int dim, int hiddenDim, int nLayers, int nHeads, int nKvHeads, int vocabSize,
                       int contextLength, float rmsEps, float ropeTheta, RopeScaling ropeScaling) {
        this(dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, contextLength, rmsEps, ropeTheta, ropeScaling,
                dim / nHeads, ArchOptions.LLAMA);
    }

    /**
     * The longest context a model file may declare: above any released Llama (Llama 4 Scout's 10M),
     * low enough that position arithmetic stays far from int overflow.
     */
    public static final int MAX_CONTEXT_LENGTH = 1 << 24;

    /** Llama 3.1 "llama3" rope scaling (factor, low/high frequency factors, original context). */
    public record RopeScaling(float factor, float lowFreqFactor, float highFreqFactor, int originalContextLength) {}

    /** Rows of wq (and columns of wo): nHeads*headDim, which equals dim only when the head width is tied to it. */
    public int qDim() { return nHeads * headDim; }

    public int kvDim() { return nKvHeads * headDim; }

    /** True when every block is the Llama block: the shape a backend's fused blocks were written for. */
    public boolean isPlainLlama() { return arch.isPlain() && headDim * nHeads == dim; }

    /** Inverse frequencies θ_i = base^(-2i/headDim) for i in [0, headDim/2), with Llama-3 scaling applied. */
    public float[] ropeInvFreq() {
        int half = headDim() / 2;
        float[] inv = new float[half];
        for (int i = 0; i < half; i++) {
            double freq = Math.pow(ropeTheta, -2.0 * i / headDim());
            if (ropeScaling != null) {
                freq = scaleLlama3(freq, ropeScaling);
            }
            inv[i] = (float) freq;
        }
        return inv;
    }

    private static double scaleLlama3(double freq, RopeScaling s) {
        double lowFreqWavelen = s.originalContextLength() / s.lowFreqFactor();
        double highFreqWavelen = s.originalContextLength() / s.highFreqFactor();
        double wavelen = 2 * Math.PI / freq;
        if (wavelen < highFreqWavelen) {
            return freq;
        }
        if (wavelen > lowFreqWavelen) {
            return freq / s.factor();
        }
        double smooth = (s.originalContextLength() / wavelen - s.lowFreqFactor()) / (s.highFreqFactor() - s.lowFreqFactor());
        return (1 - smooth) * freq / s.factor() + smooth * freq;
    }
}
