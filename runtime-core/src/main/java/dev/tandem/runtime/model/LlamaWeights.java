package dev.tandem.runtime.model;

import dev.tandem.kernels.WeightMatrix;

/**
 * All weights of a Llama model. Matrices are (rows=out, cols=in), i.e. GGUF ne = [in, out].
 * Matrices view the memory-mapped file (zero copy); norm vectors are small and copied to the heap.
 *
 * @param tokenEmbedding (vocab, dim)
 * @param attnNorm       [nLayers][dim]
 * @param wq             [nLayers] (nHeads*headDim, dim)
 * @param wk             [nLayers] (nKvHeads*headDim, dim)
 * @param wv             [nLayers] (nKvHeads*headDim, dim)
 * @param wo             [nLayers] (dim, nHeads*headDim)
 * @param ffnNorm        [nLayers][dim]
 * @param w1             [nLayers] (hiddenDim, dim)  ffn_gate (w1, w2, w3 are null in a mixture-of-experts layer)
 * @param w2             [nLayers] (dim, hiddenDim)  ffn_down
 * @param w3             [nLayers] (hiddenDim, dim)  ffn_up
 * @param finalNorm      [dim]
 * @param output         (vocab, dim); the same object as tokenEmbedding when tied
 * @param arch           what the architecture's options add (biases, QK-norm, experts)
 */
public record LlamaWeights(WeightMatrix tokenEmbedding,
                           float[][] attnNorm,
                           WeightMatrix[] wq, WeightMatrix[] wk, WeightMatrix[] wv, WeightMatrix[] wo,
                           float[][] ffnNorm,
                           WeightMatrix[] w1, WeightMatrix[] w2, WeightMatrix[] w3,
                           float[] finalNorm,
                           WeightMatrix output,
                           ArchWeights arch) {

    /** A plain Llama's weights. */
    public LlamaWeights(WeightMatrix tokenEmbedding, float[][] attnNorm, WeightMatrix[] wq, WeightMatrix[] wk,
                        WeightMatrix[] wv, WeightMatrix[] wo, float[][] ffnNorm, WeightMatrix[] w1, WeightMatrix[] w2,
                        WeightMatrix[] w3, float[] finalNorm, WeightMatrix output) {
        this(tokenEmbedding, attnNorm, wq, wk, wv, wo, ffnNorm, w1, w2, w3, finalNorm, output, ArchWeights.NONE);
    }

    /** Bytes of matrix weights one decode step reads (the embedding row is negligible and excluded). */
    public long decodeWeightBytes() {
        return decodeWeightBytes(0);
    }

    /**
     * Bytes of matrix weights one decode step reads when each mixture layer runs expertsUsed experts
     * (all of them when 0). Dense models ignore the argument.
     */
    public long decodeWeightBytes(int expertsUsed) {
        long total = output.byteSize();
        for (int l = 0; l < wq.length; l++) {
            total += wq[l].byteSize() + wk[l].byteSize() + wv[l].byteSize() + wo[l].byteSize();
            MoeLayer moe = arch.moe(l);
            total += moe != null ? moe.decodeBytes(expertsUsed > 0 ? expertsUsed : moe.experts().length)
                    : w1[l].byteSize() + w2[l].byteSize() + w3[l].byteSize();
        }
        return total;
    }
}
