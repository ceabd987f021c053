package dev.tandem.runtime.model;

import java.util.Arrays;

/**
 * One row of {@code tandem info}'s tensor table.
 *
 * @param name   tensor name as the file stores it (llama2.c sections get names like {@code wq[3]})
 * @param type   element type name: F32, Q8_0, ...
 * @param dims   ggml ne: innermost (contiguous) dimension first
 * @param offset absolute byte offset of the data in the file
 * @param bytes  bytes of data
 */
public record TensorEntry(String name, String type, long[] dims, long offset, long bytes) {

    public TensorEntry {
        dims = dims.clone();
    }

    @Override
    public long[] dims() { return dims.clone(); }

    /** Outermost first, as people write shapes: a (rows, cols) matrix with ne=[cols, rows] is "(rows, cols)". */
    public String shape() {
        StringBuilder sb = new StringBuilder("(");
        for (int i = dims.length - 1; i >= 0; i--) {
            sb.append(dims[i]).append(i > 0 ? ", " : "");
        }
        return sb.append(')').toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorEntry e && name.equals(e.name) && type.equals(e.type) && Arrays.equals(dims, e.dims)
                && offset == e.offset && bytes == e.bytes;
    }

    @Override
    public int hashCode() { return name.hashCode() * 31 + Long.hashCode(offset); }

    @Override
    public String toString() { return name + " " + type + " " + shape() + " @" + offset + " " + bytes + " B"; }
}
