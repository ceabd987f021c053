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
 * @param w1             [nLayers] (hiddenDim, dim)  ffn_gate
 * @param w2             [nLayers] (dim, hiddenDim)  ffn_down
 * @param w3             [nLayers] (hiddenDim, dim)  ffn_up
 * @param finalNorm      [dim]
 * @param output         (vocab, dim); the same object as tokenEmbedding when tied
 */
public record LlamaWeights(WeightMatrix tokenEmbedding,
                           float[][] attnNorm,
                           WeightMatrix[] wq, WeightMatrix[] wk, WeightMatrix[] wv, WeightMatrix[] wo,
                           float[][] ffnNorm,
                           WeightMatrix[] w1, WeightMatrix[] w2, WeightMatrix[] w3,
                           float[] finalNorm,
                           WeightMatrix output) {

    /** Bytes of matrix weights one decode step reads (the embedding row is negligible and excluded). */
    public long decodeWeightBytes() {
        long total = output.byteSize();
        for (int l = 0; l < wq.length; l++) {
            total += wq[l].byteSize() + wk[l].byteSize() + wv[l].byteSize() + wo[l].byteSize()
                    + w1[l].byteSize() + w2[l].byteSize() + w3[l].byteSize();
        }
        return total;
    }
}
