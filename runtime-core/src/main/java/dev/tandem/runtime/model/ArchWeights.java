package dev.tandem.runtime.model;

/**
 * The weights the options of {@link ArchOptions} add, per layer; each array is null when its option
 * is off. Vectors are small and copied to the heap, like the norms.
 *
 * @param bq    [nLayers][qDim] q bias
 * @param bk    [nLayers][kvDim] k bias
 * @param bv    [nLayers][kvDim] v bias
 * @param qNorm [nLayers][headDim] per-head RMSNorm weight of q
 * @param kNorm [nLayers][headDim] per-head RMSNorm weight of k
 * @param moe   [nLayers] the mixture replacing the dense FFN (w1, w2, w3 are null then)
 */
public record ArchWeights(float[][] bq, float[][] bk, float[][] bv, float[][] qNorm, float[][] kNorm, MoeLayer[] moe) {
    public static final ArchWeights NONE = new ArchWeights(null, null, null, null, null, null);

    private static float[] at(float[][] a, int l) { return a == null ? null : a[l]; }

    public float[] bq(int l) { return at(bq, l); }

    public float[] bk(int l) { return at(bk, l); }

    public float[] bv(int l) { return at(bv, l); }

    public float[] qNorm(int l) { return at(qNorm, l); }

    public float[] kNorm(int l) { return at(kNorm, l); }

    public MoeLayer moe(int l) { return moe == null ? null : moe[l]; }
}
