package dev.tandem.runtime.format;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * One tensor of a GGUF file.
 *
 * @param name     tensor name, e.g. {@code blk.0.attn_q.weight}
 * @param type     element type
 * @param dims     ggml {@code ne}: innermost (contiguous) dimension first, so a (rows, cols) matrix is [cols, rows]
 * @param offset   absolute byte offset of the data in the file
 * @param byteSize bytes of data
 * @param data     the data: a slice of the file's memory mapping (zero copy), read-only
 */
public record GgufTensor(String name, GgmlType type, long[] dims, long offset, long byteSize, MemorySegment data) {

    public GgufTensor {
        dims = dims.clone();
    }

    /** A copy, so the record stays immutable. */
    @Override
    public long[] dims() { return dims.clone(); }

    public int nDims() { return dims.length; }

    /** ne[i], or 1 past the last dimension (ggml's convention). */
    public long dim(int i) { return i < dims.length ? dims[i] : 1; }

    public long elementCount() {
        long n = 1;
        for (long d : dims) {
            n *= d; // cannot overflow: GgufFile checked it
        }
        return n;
    }

    /** Elements per row: ne[0]. */
    public long rowLength() { return dims[0]; }

    /** Number of rows: the product of ne[1..]. */
    public long rowCount() { return elementCount() / dims[0]; }

    /** The shape outermost first, as people write it: ne=[64, 512] is "(512, 64)". */
    public String shapeString() { return shapeString(dims); }

    static String shapeString(long[] ne) {
        StringBuilder sb = new StringBuilder("(");
        for (int i = ne.length - 1; i >= 0; i--) {
            sb.append(ne[i]).append(i > 0 ? ", " : "");
        }
        return sb.append(')').toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GgufTensor t && name.equals(t.name) && type == t.type && Arrays.equals(dims, t.dims)
                && offset == t.offset && byteSize == t.byteSize;
    }

    @Override
    public int hashCode() { return name.hashCode() * 31 + Long.hashCode(offset); }

    @Override
    public String toString() {
        return "GgufTensor[" + name + ", " + type + ", ne=" + Arrays.toString(dims) + ", offset=" + offset
                + ", bytes=" + byteSize + "]";
    }
}
