package dev.tandem.device.gpu.shared;

import dev.tandem.kernels.WeightFormat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;

/**
 * The tests' own scalar reference: plain double loops over the raw GGUF bytes, written from the
 * format definitions, independent of the kernels module (whose ScalarOps arrive by a later merge).
 */
public final class ScalarReference {
    private static final ValueLayout.OfShort F16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private ScalarReference() {}

    /** W[r, j] of a row-major (rows, cols) matrix in format, decoded from its bytes. */
    public static double weight(WeightFormat format, MemorySegment data, int cols, int r, int j) {
        long index = (long) r * cols + j;
        return switch (format) {
            case F32 -> data.get(F32, index * 4);
            case F16 -> Float.float16ToFloat(data.get(F16, index * 2));
            case BF16 -> Float.intBitsToFloat((data.get(F16, index * 2) & 0xFFFF) << 16);
            case Q8_0 -> {
                long block = ((long) r * (cols / 32) + j / 32) * 34;
                double d = Float.float16ToFloat(data.get(F16, block));
                yield d * data.get(ValueLayout.JAVA_BYTE, block + 2 + j % 32);
            }
            case Q4_0 -> {
                long block = ((long) r * (cols / 32) + j / 32) * 18;
                double d = Float.float16ToFloat(data.get(F16, block));
                int k = j % 32;
                int q = data.get(ValueLayout.JAVA_BYTE, block + 2 + (k & 15)) & 0xFF;
                int nibble = k < 16 ? q & 0x0F : q >>> 4;
                yield d * (nibble - 8);
            }
            default -> throw new IllegalArgumentException("OpenCL has no kernels for " + format);
        };
    }

    /** Random weights of a plausible scale; heap or native memory, to exercise both upload paths. */
    public static MemorySegment randomWeights(WeightFormat format, int rows, int cols, Random random, boolean heap) {
        long bytes = format.bytesFor((long) rows * cols);
        MemorySegment data = heap ? MemorySegment.ofArray(new byte[(int) bytes]) : Arena.ofAuto().allocate(bytes);
        long elements = (long) rows * cols;
        switch (format) {
            case F32 -> { for (long i = 0; i < elements; i++) data.set(F32, i * 4, gaussian(random)); }
            case F16 -> { for (long i = 0; i < elements; i++) data.set(F16, i * 2, Float.floatToFloat16(gaussian(random))); }
            case BF16 -> {
                for (long i = 0; i < elements; i++) data.set(F16, i * 2, (short) (Float.floatToIntBits(gaussian(random)) >>> 16));
            }
            case Q8_0, Q4_0 -> {
                int blockBytes = format.blockBytes();
                for (long b = 0; b < elements / 32; b++) {
                    long at = b * blockBytes;
                    data.set(F16, at, Float.floatToFloat16(0.001f + random.nextFloat() * 0.05f));
                    for (int k = 2; k < blockBytes; k++) data.set(ValueLayout.JAVA_BYTE, at + k, (byte) random.nextInt(256));
                }
            }
            default -> throw new IllegalArgumentException("OpenCL has no kernels for " + format);
        }
        return data;
    }

    public static float gaussian(Random random) { return (float) random.nextGaussian(); }

    public static float[] randomVector(int n, Random random) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = gaussian(random);
        return v;
    }

    /** out[b*rows + r] = sum_j W[r,j] x[b*cols + j]; sumAbs gets sum_j |W[r,j] x[b*cols+j]| for tolerances. */
    public static double[] matmul(WeightFormat format, MemorySegment data, int rows, int cols, float[] x, int batch, double[] sumAbs) {
        double[] out = new double[batch * rows];
        for (int r = 0; r < rows; r++) {
            double[] row = new double[cols];
            for (int j = 0; j < cols; j++) row[j] = weight(format, data, cols, r, j);
            for (int b = 0; b < batch; b++) {
                double sum = 0, abs = 0;
                for (int j = 0; j < cols; j++) {
                    double p = row[j] * x[b * cols + j];
                    sum += p;
                    abs += Math.abs(p);
                }
                out[b * rows + r] = sum;
                sumAbs[b * rows + r] = abs;
            }
        }
        return out;
    }

    public static double[] rmsnorm(float[] x, float[] weight, int n, int batch, float eps) {
        double[] out = new double[n * batch];
        for (int b = 0; b < batch; b++) {
            double ss = 0;
            for (int j = 0; j < n; j++) ss += (double) x[b * n + j] * x[b * n + j];
            double scale = 1 / Math.sqrt(ss / n + eps);
            for (int j = 0; j < n; j++) out[b * n + j] = x[b * n + j] * scale * weight[j];
        }
        return out;
    }

    public static double[] rope(float[] vec, int nHeads, int headDim, int pos0, int batch, float[] invFreq) {
        double[] out = new double[vec.length];
        for (int b = 0; b < batch; b++) {
            for (int h = 0; h < nHeads; h++) {
                for (int i = 0; i < headDim / 2; i++) {
                    int at = (b * nHeads + h) * headDim + 2 * i;
                    double angle = (double) (pos0 + b) * invFreq[i];
                    double c = Math.cos(angle), s = Math.sin(angle);
                    out[at] = vec[at] * c - vec[at + 1] * s;
                    out[at + 1] = vec[at] * s + vec[at + 1] * c;
                }
            }
        }
        return out;
    }

    /** Causal GQA: row b at position startPos+b attends to [0, startPos+b] of a (positions, nKv*headDim) cache. */
    public static double[] attention(float[] q, float[] keys, float[] values, int startPos, int batch, int nHeads,
                              int nKvHeads, int headDim) {
        double[] out = new double[batch * nHeads * headDim];
        int kvStride = nKvHeads * headDim;
        for (int b = 0; b < batch; b++) {
            int last = startPos + b;
            for (int h = 0; h < nHeads; h++) {
                int kvh = h / (nHeads / nKvHeads);
                double[] scores = new double[last + 1];
                double max = Double.NEGATIVE_INFINITY;
                for (int t = 0; t <= last; t++) {
                    double dot = 0;
                    for (int d = 0; d < headDim; d++) {
                        dot += (double) q[(b * nHeads + h) * headDim + d] * keys[t * kvStride + kvh * headDim + d];
                    }
                    scores[t] = dot / Math.sqrt(headDim);
                    max = Math.max(max, scores[t]);
                }
                double sum = 0;
                for (int t = 0; t <= last; t++) sum += scores[t] = Math.exp(scores[t] - max);
                for (int d = 0; d < headDim; d++) {
                    double acc = 0;
                    for (int t = 0; t <= last; t++) acc += scores[t] * values[t * kvStride + kvh * headDim + d];
                    out[(b * nHeads + h) * headDim + d] = acc / sum;
                }
            }
        }
        return out;
    }

    public static double silu(double v) { return v / (1 + Math.exp(-v)); }
}
