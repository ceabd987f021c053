package dev.tandem.runtime.format;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes GGUF v3 files: metadata of every type and tensors encoded from floats (F32, F16, BF16, Q8_0,
 * Q4_0) or given as raw bytes. Tensor data are produced row by row and streamed to the file, so writing
 * a model of hundreds of MB needs only one row of memory per tensor (see {@link RowSource}).
 *
 * <pre>{@code
 * new GgufWriter()
 *     .putString("general.architecture", "llama")
 *     .addTensor("token_embd.weight", GgmlType.Q8_0, new long[] {dim, vocab}, embeddingFloats)
 *     .write(path);
 * }</pre>
 * Misuse (a wrong data length, an unencodable type) is an IllegalArgumentException.
 */
public final class GgufWriter {
    /** A nested array value: {@code values} is the Java array for {@code elementType} (GgufArray[] for ARRAY). */
    public record GgufArray(GgufValueType elementType, Object values) {}

    /** Produces row {@code row} (ne[0] values) of a tensor into {@code dst}; called once per row, in order. */
    @FunctionalInterface
    public interface RowSource {
        void fill(long row, float[] dst);
    }

    private record Value(GgufValueType type, Object value) {}

    private record PendingTensor(String name, GgmlType type, long[] dims, long rows, long bytes,
                                 RowSource source, byte[] raw) {}

    private static final int CHUNK_BYTES = 1 << 20;

    private final Map<String, Value> metadata = new LinkedHashMap<>();
    private final List<PendingTensor> tensors = new ArrayList<>();
    private final Set<String> tensorNames = new HashSet<>();
    private int alignment = GgufFile.DEFAULT_ALIGNMENT;

    public GgufWriter put(String key, GgufValueType type, Object value) {
        if (type == GgufValueType.ARRAY) {
            if (!(value instanceof GgufArray array)) {
                throw new IllegalArgumentException("an ARRAY value must be a GgufArray");
            }
            checkArray(array); // fail here, where the caller is, rather than at write()
        } else {
            checkScalar(type, value);
        }
        metadata.put(key, new Value(type, value));
        return this;
    }

    public GgufWriter putString(String key, String v) { return put(key, GgufValueType.STRING, v); }
    public GgufWriter putUint8(String key, int v) { return put(key, GgufValueType.UINT8, v); }
    public GgufWriter putInt8(String key, int v) { return put(key, GgufValueType.INT8, v); }
    public GgufWriter putUint16(String key, int v) { return put(key, GgufValueType.UINT16, v); }
    public GgufWriter putInt16(String key, int v) { return put(key, GgufValueType.INT16, v); }
    public GgufWriter putUint32(String key, long v) { return put(key, GgufValueType.UINT32, v); }
    public GgufWriter putInt32(String key, int v) { return put(key, GgufValueType.INT32, v); }
    public GgufWriter putUint64(String key, long v) { return put(key, GgufValueType.UINT64, v); }
    public GgufWriter putInt64(String key, long v) { return put(key, GgufValueType.INT64, v); }
    public GgufWriter putFloat32(String key, float v) { return put(key, GgufValueType.FLOAT32, v); }
    public GgufWriter putFloat64(String key, double v) { return put(key, GgufValueType.FLOAT64, v); }
    public GgufWriter putBool(String key, boolean v) { return put(key, GgufValueType.BOOL, v); }

    /**
     * An array: {@code values} is int[] (8/16/32-bit types), long[] (UINT32/INT64/UINT64), float[],
     * double[], boolean[], String[], or GgufArray[] for arrays of arrays.
     */
    public GgufWriter putArray(String key, GgufValueType elementType, Object values) {
        return put(key, GgufValueType.ARRAY, new GgufArray(elementType, values));
    }

    /** Sets general.alignment (a power of two) for the data section. */
    public GgufWriter alignment(int alignment) {
        if (alignment <= 0 || Integer.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("alignment must be a power of two, got " + alignment);
        }
        this.alignment = alignment;
        return putUint32("general.alignment", alignment);
    }

    /** A tensor from {@code data} (row-major, ne[0] contiguous), encoded as {@code type}. */
    public GgufWriter addTensor(String name, GgmlType type, long[] dims, float[] data) {
        long elements = elements(dims);
        if (data.length != elements) {
            throw new IllegalArgumentException("tensor '" + name + "' has " + elements + " elements but " + data.length + " values were given");
        }
        int rowLength = Math.toIntExact(dims[0]);
        return addTensor(name, type, dims, (row, dst) -> System.arraycopy(data, Math.toIntExact(row * rowLength), dst, 0, rowLength));
    }

    /** A tensor whose rows {@code source} produces while the file is written. */
    public GgufWriter addTensor(String name, GgmlType type, long[] dims, RowSource source) {
        if (!GgmlEncoder.canEncode(type)) {
            throw new IllegalArgumentException("cannot encode " + type + " (encodable: F32, F16, BF16, Q8_0, Q4_0); use addRawTensor");
        }
        return add(name, type, dims, source, null);
    }

    /** A tensor given as its exact stored bytes, in any type (for tests and unsupported types). */
    public GgufWriter addRawTensor(String name, GgmlType type, long[] dims, byte[] bytes) {
        return add(name, type, dims, null, bytes);
    }

    private GgufWriter add(String name, GgmlType type, long[] dims, RowSource source, byte[] raw) {
        if (!tensorNames.add(name)) {
            throw new IllegalArgumentException("duplicate tensor '" + name + "'");
        }
        long elements = elements(dims);
        long rows = elements / dims[0];
        long bytes = type.bytesFor(dims[0], rows);
        if (bytes < 0) {
            throw new IllegalArgumentException("tensor '" + name + "': ne[0]=" + dims[0] + " is not a multiple of the "
                    + type + " block size " + type.blockSize());
        }
        if (raw != null && raw.length != bytes) {
            throw new IllegalArgumentException("tensor '" + name + "' needs " + bytes + " bytes, got " + raw.length);
        }
        tensors.add(new PendingTensor(name, type, dims.clone(), rows, bytes, source, raw));
        return this;
    }

    /** Writes the file, replacing any existing one. */
    public void write(Path path) {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            long[] relativeOffsets = new long[tensors.size()];
            long next = 0;
            for (int i = 0; i < tensors.size(); i++) {
                next = alignUp(next, alignment);
                relativeOffsets[i] = next;
                next += tensors.get(i).bytes;
            }
            HeaderBuffer header = new HeaderBuffer();
            writeHeader(header, relativeOffsets);
            long dataStart = alignUp(header.size(), alignment);
            header.zeros((int) (dataStart - header.size()));
            writeFully(ch, header.flip());
            for (int i = 0; i < tensors.size(); i++) {
                long pad = dataStart + relativeOffsets[i] - ch.position();
                writeFully(ch, ByteBuffer.allocate((int) pad));
                writeTensorData(ch, tensors.get(i));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + path, e);
        }
    }

    private void writeHeader(HeaderBuffer out, long[] relativeOffsets) {
        out.ensure(24).putInt(GgufFile.MAGIC).putInt(3).putLong(tensors.size()).putLong(metadata.size());
        for (Map.Entry<String, Value> e : metadata.entrySet()) {
            out.string(e.getKey());
            out.ensure(4).putInt(e.getValue().type.id());
            writeValue(out, e.getValue().type, e.getValue().value);
        }
        for (int i = 0; i < tensors.size(); i++) {
            PendingTensor t = tensors.get(i);
            out.string(t.name);
            out.ensure(4 + 8 * t.dims.length + 12).putInt(t.dims.length);
            for (long d : t.dims) {
                out.buffer().putLong(d);
            }
            out.buffer().putInt(t.type.id()).putLong(relativeOffsets[i]);
        }
    }

    private static void writeValue(HeaderBuffer out, GgufValueType type, Object v) {
        switch (type) {
            case UINT8, INT8 -> out.ensure(1).put((byte) ((Number) v).intValue());
            case BOOL -> out.ensure(1).put((byte) ((Boolean) v ? 1 : 0));
            case UINT16, INT16 -> out.ensure(2).putShort((short) ((Number) v).intValue());
            case UINT32, INT32 -> out.ensure(4).putInt((int) ((Number) v).longValue());
            case UINT64, INT64 -> out.ensure(8).putLong(((Number) v).longValue());
            case FLOAT32 -> out.ensure(4).putFloat(((Number) v).floatValue());
            case FLOAT64 -> out.ensure(8).putDouble(((Number) v).doubleValue());
            case STRING -> out.string((String) v);
            case ARRAY -> writeArray(out, (GgufArray) v);
        }
    }

    private static void writeArray(HeaderBuffer out, GgufArray array) {
        int n = java.lang.reflect.Array.getLength(array.values());
        out.ensure(12).putInt(array.elementType().id()).putLong(n);
        for (int i = 0; i < n; i++) {
            writeValue(out, array.elementType(), element(array.values(), i));
        }
    }

    private static void checkArray(GgufArray array) {
        Object values = array.values();
        if (values == null || !values.getClass().isArray()) {
            throw new IllegalArgumentException("array values must be a Java array, got " + values);
        }
        int n = java.lang.reflect.Array.getLength(values);
        for (int i = 0; i < n; i++) {
            Object v = element(values, i);
            if (array.elementType() != GgufValueType.ARRAY) {
                checkScalar(array.elementType(), v);
            } else if (v instanceof GgufArray inner) {
                checkArray(inner);
            } else {
                throw new IllegalArgumentException("elements of an ARRAY of ARRAY must be GgufArray");
            }
        }
    }

    private static Object element(Object values, int i) {
        return switch (values) {
            case int[] a -> a[i];
            case long[] a -> a[i];
            case float[] a -> a[i];
            case double[] a -> a[i];
            case boolean[] a -> a[i];
            case Object[] a -> a[i];
            default -> throw new IllegalArgumentException("unsupported array class " + values.getClass());
        };
    }

    private static void checkScalar(GgufValueType type, Object value) {
        boolean ok = switch (type) {
            case STRING -> value instanceof String;
            case BOOL -> value instanceof Boolean;
            case FLOAT32, FLOAT64 -> value instanceof Float || value instanceof Double;
            default -> value instanceof Integer || value instanceof Long || value instanceof Short || value instanceof Byte;
        };
        if (!ok) {
            throw new IllegalArgumentException(type + " value cannot be a " + (value == null ? "null" : value.getClass().getSimpleName()));
        }
        if (value instanceof Number n && !(value instanceof Float || value instanceof Double)) {
            long v = n.longValue();
            boolean inRange = switch (type) {
                case UINT8 -> v >= 0 && v <= 0xFF;
                case INT8 -> v == (byte) v;
                case UINT16 -> v >= 0 && v <= 0xFFFF;
                case INT16 -> v == (short) v;
                case UINT32 -> v >= 0 && v <= 0xFFFF_FFFFL;
                case INT32 -> v == (int) v;
                default -> true; // UINT64 takes any bit pattern, INT64 any long
            };
            if (!inRange) {
                throw new IllegalArgumentException(v + " is out of range for " + type);
            }
        }
    }

    private static void writeTensorData(FileChannel ch, PendingTensor t) throws IOException {
        if (t.raw != null) {
            writeFully(ch, ByteBuffer.wrap(t.raw));
            return;
        }
        int rowLength = Math.toIntExact(t.dims[0]);
        int rowBytes = Math.toIntExact(t.bytes / t.rows);
        ByteBuffer chunk = ByteBuffer.allocate(Math.max(CHUNK_BYTES, rowBytes)).order(ByteOrder.LITTLE_ENDIAN);
        float[] row = new float[rowLength];
        for (long r = 0; r < t.rows; r++) {
            if (chunk.remaining() < rowBytes) {
                writeFully(ch, chunk.flip());
                chunk.clear();
            }
            t.source.fill(r, row);
            GgmlEncoder.encode(t.type, row, 0, rowLength, chunk);
        }
        writeFully(ch, chunk.flip());
    }

    private static void writeFully(FileChannel ch, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            ch.write(buffer);
        }
    }

    private static long elements(long[] dims) {
        if (dims.length == 0 || dims.length > GgufFile.MAX_DIMS) {
            throw new IllegalArgumentException("a tensor has 1 to 4 dimensions, got " + dims.length);
        }
        long n = 1;
        for (long d : dims) {
            if (d <= 0) {
                throw new IllegalArgumentException("dimensions must be positive, got " + d);
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    static long alignUp(long offset, int alignment) {
        return (offset + alignment - 1) / alignment * alignment;
    }

    /** A growable little-endian buffer for the header, which is small next to the tensor data. */
    private static final class HeaderBuffer {
        private ByteBuffer buffer = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);

        ByteBuffer ensure(int bytes) {
            if (buffer.remaining() < bytes) {
                int capacity = Math.max(buffer.capacity() * 2, buffer.position() + bytes);
                ByteBuffer bigger = ByteBuffer.allocate(capacity).order(ByteOrder.LITTLE_ENDIAN);
                buffer.flip();
                bigger.put(buffer);
                buffer = bigger;
            }
            return buffer;
        }

        ByteBuffer buffer() { return buffer; }

        void string(String s) {
            byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
            ensure(8 + bytes.length).putLong(bytes.length).put(bytes);
        }

        void zeros(int n) { ensure(n).put(new byte[n]); }

        long size() { return buffer.position(); }

        ByteBuffer flip() { return buffer.flip(); }
    }
}
