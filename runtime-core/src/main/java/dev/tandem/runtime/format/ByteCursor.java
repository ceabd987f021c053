package dev.tandem.runtime.format;

import dev.tandem.runtime.error.ModelFormatException;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A little-endian read position over a memory segment that checks every read against the bytes left,
 * so a truncated or lying file ends in a {@link ModelFormatException} naming the offset and what was
 * being read, never in an IndexOutOfBoundsException.
 */
final class ByteCursor {
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final MemorySegment segment;
    private final Path file;
    private long position;

    ByteCursor(MemorySegment segment, Path file) {
        this.segment = segment;
        this.file = file;
    }

    long position() { return position; }

    long remaining() { return segment.byteSize() - position; }

    Path file() { return file; }

    /** A format error at the current position. */
    ModelFormatException error(String problem) { return new ModelFormatException(file, position, problem); }

    /** Fails unless {@code n} more bytes exist; {@code what} says what they were meant to be. */
    void require(long n, String what) {
        if (n < 0 || n > remaining()) {
            throw error("truncated: " + what + " needs " + n + " bytes but only " + remaining()
                    + " remain (file size " + segment.byteSize() + ")");
        }
    }

    int u8(String what) { require(1, what); return Byte.toUnsignedInt(segment.get(ValueLayout.JAVA_BYTE, position++)); }

    int i8(String what) { require(1, what); return segment.get(ValueLayout.JAVA_BYTE, position++); }

    int u16(String what) { return Short.toUnsignedInt(rawI16(what)); }

    int i16(String what) { return rawI16(what); }

    private short rawI16(String what) {
        require(2, what);
        short v = segment.get(I16, position);
        position += 2;
        return v;
    }

    int i32(String what) {
        require(4, what);
        int v = segment.get(I32, position);
        position += 4;
        return v;
    }

    long u32(String what) { return Integer.toUnsignedLong(i32(what)); }

    /** A uint64 or int64; callers that need a count use {@link #count}. */
    long i64(String what) {
        require(8, what);
        long v = segment.get(I64, position);
        position += 8;
        return v;
    }

    float f32(String what) {
        require(4, what);
        float v = segment.get(F32, position);
        position += 4;
        return v;
    }

    double f64(String what) {
        require(8, what);
        double v = segment.get(F64, position);
        position += 8;
        return v;
    }

    /** {@code n} int32s in one copy (n already checked by {@link #count} against what is left). */
    int[] i32s(int n, String what) { return copied(new int[n], I32, n, what); }

    /** {@code n} int64s (or uint64s, as their bits) in one copy. */
    long[] i64s(int n, String what) { return copied(new long[n], I64, n, what); }

    /** {@code n} float32s in one copy. */
    float[] f32s(int n, String what) { return copied(new float[n], F32, n, what); }

    /** {@code n} float64s in one copy. */
    double[] f64s(int n, String what) { return copied(new double[n], F64, n, what); }

    /** The next n values of layout copied into array (a primitive array of n elements). */
    private <A> A copied(A array, ValueLayout layout, int n, String what) {
        long bytes = layout.byteSize() * n;
        require(bytes, what);
        MemorySegment.copy(segment, layout, position, array, 0, n);
        position += bytes;
        return array;
    }

    /**
     * A uint64 count of items that each take at least {@code minBytesEach} bytes of the rest of the
     * file. Checked before anything is allocated, so a lying count cannot exhaust memory.
     */
    long count(String what, long minBytesEach) {
        long start = position;
        long n = i64(what);
        long left = remaining();
        if (n < 0 || (minBytesEach > 0 && n > left / minBytesEach)) {
            position = start;
            throw error(what + " is " + Long.toUnsignedString(n) + ", but the " + left
                    + " bytes left in the file hold at most " + (minBytesEach > 0 ? left / minBytesEach : left)
                    + " (at least " + minBytesEach + " bytes each)");
        }
        return n;
    }

    /** A GGUF string: uint64 byte length, then UTF-8 bytes (malformed sequences become U+FFFD). */
    String string(String what) {
        long start = position;
        // Checked inline, the message built only for a bad length: a vocabulary is 32,000-150,000 strings read
        // while the JVM is still interpreting, and a concatenation for each cost more than the read.
        long length = remaining() >= 8 ? segment.get(I64, position) : -1;
        if (length < 0 || length > remaining() - 8 || length > Integer.MAX_VALUE - 8) {
            length = count(what + " length", 1); // throws unless the length fits the file but not a string
            position = start;
            throw error(what + " length " + length + " is too large for a string");
        }
        position += 8;
        byte[] bytes = new byte[(int) length];
        MemorySegment.copy(segment, ValueLayout.JAVA_BYTE, position, bytes, 0, bytes.length);
        position += length;
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
