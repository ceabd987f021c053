package dev.tandem.runtime.model;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.error.ModelFormatException;
import dev.tandem.runtime.error.SafeText;
import dev.tandem.runtime.format.GgufFile;
import dev.tandem.runtime.format.GgufTensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Reads a GGUF file's tensors as weights, each checked against the shape the model needs: matrices
 * as zero-copy views, vectors copied to the heap, expert stacks as one view per expert, and the few
 * matrices whose rows must be reordered (NeoX rotary style) copied into memory of the model's arena.
 */
final class GgufTensorReader {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final GgufFile gguf;
    private final Path path;
    private final Arena arena;

    /** @param arena owns copies (permuted rows); the model closes it with the file */
    GgufTensorReader(GgufFile gguf, Arena arena) {
        this.gguf = gguf;
        this.path = gguf.path();
        this.arena = arena;
    }

    boolean has(String name) {
        return gguf.findTensor(name).isPresent();
    }

    /** The tensor, checked to be ne = [cols, rows] (trailing 1s allowed) and of a type Tandem computes with. */
    WeightMatrix matrix(String name, long rows, long cols) {
        GgufTensor t = shaped(name, cols, rows);
        WeightFormat format = t.type().requireWeightFormat(path, name);
        return MatrixViews.view(path, name, format, t.data(), rows, cols);
    }

    /**
     * A stack of experts' matrices, ne = [cols, rows, experts]: one view per expert, each over its own
     * slice of the tensor (experts are stored one after another, whole rows each).
     */
    WeightMatrix[] experts(String name, long rows, long cols, int experts) {
        GgufTensor t = shaped(name, cols, rows, experts);
        WeightFormat format = t.type().requireWeightFormat(path, name);
        long perExpert = format.bytesFor(rows * cols);
        if (t.data().byteSize() != perExpert * experts) {
            throw new ModelFormatException(path, t.offset(), "tensor " + SafeText.quote(name) + " holds " + t.data().byteSize()
                    + " bytes, but " + experts + " experts of " + format + " (" + rows + ", " + cols + ") need " + perExpert * experts);
        }
        WeightMatrix[] out = new WeightMatrix[experts];
        for (int e = 0; e < experts; e++) {
            out[e] = MatrixViews.view(path, name + "[" + e + "]", format, t.data().asSlice(e * perExpert, perExpert), rows, cols);
        }
        return out;
    }

    /**
     * A (1, n) F32 matrix in the arena holding the vector {@code name}: a gate that is a dot product,
     * run by the same matmul as every other projection.
     */
    WeightMatrix vectorAsRow(String name, int n) {
        float[] v = vector(name, n);
        MemorySegment seg = arena.allocate(4L * n, 64);
        MemorySegment.copy(v, 0, seg, F32, 0, n);
        return WeightMatrix.of(WeightFormat.F32, seg, 1, n);
    }

    /** A norm or bias vector ne = [n], copied to the heap as floats (it is small and read every step). */
    float[] vector(String name, int n) {
        GgufTensor t = shaped(name, n);
        MemorySegment data = t.data();
        float[] out = new float[n];
        switch (t.type()) {
            case F32 -> MemorySegment.copy(data, F32, 0, out, 0, n);
            case F16 -> { for (int i = 0; i < n; i++) out[i] = Float.float16ToFloat(data.getAtIndex(I16, i)); }
            case BF16 -> { for (int i = 0; i < n; i++) out[i] = Float.intBitsToFloat(data.getAtIndex(I16, i) << 16); }
            default -> throw new ModelFormatException(path, "tensor " + SafeText.quote(name) + " has type " + t.type()
                    + "; a " + (name.endsWith(".bias") ? "bias" : "norm weight") + " must be F32, F16 or BF16");
        }
        return out;
    }

    /**
     * The matrix with its rows reordered within each head of width headDim so that NeoX-style rotary
     * pairs (i, i + headDim/2) become adjacent pairs (2i, 2i + 1): row 2i of a head is its old row i,
     * row 2i+1 its old row i + headDim/2. Rows are self-contained in every format, so whole rows move.
     */
    WeightMatrix neoxToAdjacent(WeightMatrix m, int headDim) {
        long rowBytes = m.format().bytesFor(m.cols());
        MemorySegment copy = arena.allocate(rowBytes * m.rows(), 64);
        for (int r = 0; r < m.rows(); r++) {
            MemorySegment.copy(m.data(), (long) neoxSource(r, headDim) * rowBytes, copy, r * rowBytes, rowBytes);
        }
        return WeightMatrix.of(m.format(), copy, m.rows(), m.cols());
    }

    /** The same reordering for a vector over heads (a bias) or over one head (a QK-norm weight). */
    static float[] neoxToAdjacent(float[] v, int headDim) {
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[neoxSource(i, headDim)];
        }
        return out;
    }

    /** Which old row lands at row r. */
    private static int neoxSource(int r, int headDim) {
        int head = r / headDim, j = r % headDim, half = headDim / 2;
        return head * headDim + (j % 2 == 0 ? j / 2 : half + j / 2);
    }

    GgufTensor shaped(String name, long... expectedNe) {
        GgufTensor t = gguf.tensor(name);
        long[] ne = t.dims();
        boolean ok = ne.length >= expectedNe.length;
        for (int i = 0; ok && i < ne.length; i++) {
            ok = ne[i] == (i < expectedNe.length ? expectedNe[i] : 1);
        }
        if (!ok) {
            throw new ModelFormatException(path, t.offset(), "tensor " + SafeText.quote(name) + " has shape ne=" + Arrays.toString(ne)
                    + ", expected ne=" + Arrays.toString(expectedNe) + " (innermost first)");
        }
        return t;
    }
}
