package dev.tandem.runtime.format;

import dev.tandem.runtime.error.ModelFormatException;
import dev.tandem.runtime.error.SafeText;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A GGUF (v2 or v3, little-endian) file, memory-mapped read-only. Tensor data are slices of the mapping:
 * nothing is copied, and everything stays valid until {@link #close()}, which unmaps the file.
 *
 * <p>Metadata values keep the narrowest Java type that holds every value of their GGUF type:
 * UINT8/INT8/UINT16/INT16/INT32 → Integer; UINT32/INT64/UINT64 → Long (UINT64 values of 2^63 and up
 * read as negative); FLOAT32 → Float; FLOAT64 → Double; BOOL → Boolean; STRING → String. Arrays become
 * the matching primitive array (int[], long[], float[], double[], boolean[], String[]) and arrays of
 * arrays become Object[] holding those.
 *
 * <p>Every malformed input ends in a {@link ModelFormatException} naming the file, the offset and the
 * problem; counts and lengths are checked against the bytes left before anything is allocated.
 */
public final class GgufFile implements AutoCloseable {
    /** "GGUF" read as a little-endian uint32. */
    public static final int MAGIC = 0x46554747;
    public static final int DEFAULT_ALIGNMENT = 32;
    /** Deeper nesting is never needed and would let a small file recurse without bound. */
    static final int MAX_ARRAY_DEPTH = 8;
    static final int MAX_DIMS = 4;
    /** Tensor info: name length 8 + n_dims 4 + one dim 8 + type 4 + offset 8. */
    private static final int MIN_TENSOR_INFO_BYTES = 32;
    /** Metadata entry: key length 8 + value type 4 + the smallest value 1. */
    private static final int MIN_KV_BYTES = 13;

    private final Path path;
    private final Arena arena;
    private final MemorySegment mapping;
    private final int version;
    private final Map<String, Object> metadata;
    private final Map<String, String> metadataTypes;
    private final int alignment;
    private final long dataOffset;
    private final Map<String, GgufTensor> tensors;
    private boolean closed;

    private GgufFile(Path path, Arena arena, MemorySegment mapping, Parsed parsed) {
        this.path = path;
        this.arena = arena;
        this.mapping = mapping;
        this.version = parsed.version;
        this.metadata = Collections.unmodifiableMap(parsed.metadata);
        this.metadataTypes = parsed.metadataTypes;
        this.alignment = parsed.alignment;
        this.dataOffset = parsed.dataOffset;
        this.tensors = Collections.unmodifiableMap(parsed.tensors);
    }

    /** Maps and parses {@code path}; an unreadable or malformed file is a {@link ModelFormatException}. */
    public static GgufFile open(Path path) {
        return MappedFile.open(path, (arena, mapping) -> new GgufFile(path, arena, mapping, new Parser(path, mapping).parse()));
    }

    /**
     * Parses a GGUF image already in memory (an embedded resource, say); label names it in errors.
     * The file owns arena from then on and closes it on {@link #close()}, or here when parsing fails.
     */
    public static GgufFile read(Path label, Arena arena, MemorySegment bytes) {
        try {
            return new GgufFile(label, arena, bytes, new Parser(label, bytes).parse());
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    public int version() { return version; }

    public Path path() { return path; }

    /** The whole file, mapped read-only. */
    public MemorySegment mapping() { return mapping; }

    /** All metadata in file order. Array values are shared: do not modify them. */
    public Map<String, Object> metadata() { return metadata; }

    /** The GGUF type of a key's value, e.g. "UINT32", "STRING" or "ARRAY[FLOAT32]". */
    public Optional<String> typeOf(String key) { return Optional.ofNullable(metadataTypes.get(key)); }

    public Optional<Object> get(String key) { return Optional.ofNullable(metadata.get(key)); }

    public String requireString(String key) { return asString(key, require(key)); }

    public String getString(String key, String defaultValue) {
        Object v = metadata.get(key);
        return v == null ? defaultValue : asString(key, v);
    }

    /** Any integer type as a long. */
    public long requireLong(String key) { return asLong(key, require(key)); }

    public long getLong(String key, long defaultValue) {
        Object v = metadata.get(key);
        return v == null ? defaultValue : asLong(key, v);
    }

    /** Any integer type whose value fits an int. */
    public int requireInt(String key) { return asInt(key, require(key)); }

    public int getInt(String key, int defaultValue) {
        Object v = metadata.get(key);
        return v == null ? defaultValue : asInt(key, v);
    }

    /** FLOAT32, or FLOAT64 narrowed to float. */
    public float requireFloat(String key) { return asFloat(key, require(key)); }

    public float getFloat(String key, float defaultValue) {
        Object v = metadata.get(key);
        return v == null ? defaultValue : asFloat(key, v);
    }

    public boolean requireBoolean(String key) { return asBoolean(key, require(key)); }

    public boolean getBoolean(String key, boolean defaultValue) {
        Object v = metadata.get(key);
        return v == null ? defaultValue : asBoolean(key, v);
    }

    /** An array value of the given Java array class, e.g. {@code String[].class} or {@code float[].class}. */
    public <A> A requireArray(String key, Class<A> arrayClass) { return asArray(key, require(key), arrayClass); }

    public <A> Optional<A> findArray(String key, Class<A> arrayClass) {
        Object v = metadata.get(key);
        return v == null ? Optional.empty() : Optional.of(asArray(key, v, arrayClass));
    }

    /** An integer array as int[], whether stored with 8-, 16-, 32- or 64-bit elements (range-checked). */
    public int[] requireIntArray(String key) {
        Object v = require(key);
        if (v instanceof int[] ints) {
            return ints;
        }
        if (v instanceof long[] longs) {
            int[] ints = new int[longs.length];
            for (int i = 0; i < longs.length; i++) {
                if (longs[i] != (int) longs[i]) {
                    throw keyError(key, "element " + i + " is " + longs[i] + ", which does not fit an int");
                }
                ints[i] = (int) longs[i];
            }
            return ints;
        }
        throw wrongType(key, "an integer array");
    }

    public List<GgufTensor> tensors() { return List.copyOf(tensors.values()); }

    public Optional<GgufTensor> findTensor(String name) { return Optional.ofNullable(tensors.get(name)); }

    /** The named tensor; a missing one is a {@link ModelFormatException} naming it. */
    public GgufTensor tensor(String name) {
        GgufTensor t = tensors.get(name);
        if (t == null) {
            throw new ModelFormatException(path, "missing tensor " + SafeText.quote(name));
        }
        return t;
    }

    /** Absolute offset where tensor data start (after the header, aligned). */
    public long dataOffset() { return dataOffset; }

    /** general.alignment, default 32. */
    public int alignment() { return alignment; }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            arena.close();
        }
    }

    private Object require(String key) {
        Object v = metadata.get(key);
        if (v == null) {
            throw new ModelFormatException(path, "missing metadata key " + SafeText.quote(key));
        }
        return v;
    }

    private ModelFormatException keyError(String key, String problem) {
        return new ModelFormatException(path, "metadata key " + SafeText.quote(key) + ": " + problem);
    }

    private ModelFormatException wrongType(String key, String expected) {
        return keyError(key, "expected " + expected + " but found " + metadataTypes.get(key));
    }

    private String asString(String key, Object v) {
        if (v instanceof String s) {
            return s;
        }
        throw wrongType(key, "a STRING");
    }

    private long asLong(String key, Object v) {
        if (v instanceof Integer i) {
            return i;
        }
        if (v instanceof Long l) {
            if (l < 0 && "UINT64".equals(metadataTypes.get(key))) {
                throw keyError(key, "value " + Long.toUnsignedString(l) + " does not fit a signed 64-bit integer");
            }
            return l;
        }
        throw wrongType(key, "an integer");
    }

    private int asInt(String key, Object v) {
        long l = asLong(key, v);
        if (l != (int) l) {
            throw keyError(key, "value " + l + " does not fit a 32-bit int");
        }
        return (int) l;
    }

    private float asFloat(String key, Object v) {
        if (v instanceof Float f) {
            return f;
        }
        if (v instanceof Double d) {
            return d.floatValue();
        }
        throw wrongType(key, "a FLOAT32 or FLOAT64");
    }

    private boolean asBoolean(String key, Object v) {
        if (v instanceof Boolean b) {
            return b;
        }
        throw wrongType(key, "a BOOL");
    }

    private <A> A asArray(String key, Object v, Class<A> arrayClass) {
        if (arrayClass.isInstance(v)) {
            return arrayClass.cast(v);
        }
        throw wrongType(key, "an array read as " + arrayClass.getSimpleName());
    }

    /** What the parser found, handed to the constructor in one piece. */
    private static final class Parsed {
        int version;
        final Map<String, Object> metadata = new LinkedHashMap<>();
        final Map<String, String> metadataTypes = new HashMap<>();
        int alignment = DEFAULT_ALIGNMENT;
        long dataOffset;
        final Map<String, GgufTensor> tensors = new LinkedHashMap<>();
    }

    /** Reads the header, metadata and tensor infos, and checks every tensor's data against the file. */
    private static final class Parser {
        private final Path path;
        private final MemorySegment mapping;
        private final ByteCursor in;
        private final Parsed out = new Parsed();

        Parser(Path path, MemorySegment mapping) {
            this.path = path;
            this.mapping = mapping;
            this.in = new ByteCursor(mapping, path);
        }

        Parsed parse() {
            readHeaderStart();
            long tensorCount = in.count("tensor count", MIN_TENSOR_INFO_BYTES);
            long kvCount = in.count("metadata entry count", MIN_KV_BYTES);
            for (long i = 0; i < kvCount; i++) {
                readKeyValue(i);
            }
            out.alignment = readAlignment();
            List<TensorInfo> infos = new ArrayList<>();
            for (long i = 0; i < tensorCount; i++) {
                infos.add(readTensorInfo(i));
            }
            long end = in.position();
            out.dataOffset = (end + out.alignment - 1) / out.alignment * out.alignment;
            for (TensorInfo info : infos) {
                out.tensors.put(info.name, locate(info));
            }
            return out;
        }

        private void readHeaderStart() {
            int magic = in.i32("magic");
            if (magic != MAGIC) {
                throw new ModelFormatException(path, 0, String.format(
                        "bad magic 0x%08x, expected 0x%08x (\"GGUF\"): not a GGUF file", magic, MAGIC));
            }
            long versionAt = in.position();
            long version = in.u32("version");
            if (version == 1) {
                throw new ModelFormatException(path, versionAt,
                        "GGUF v1 is not supported (it used 32-bit lengths); convert the model again with a current llama.cpp");
            }
            if (version == 0x02000000L || version == 0x03000000L) {
                throw new ModelFormatException(path, versionAt,
                        "this looks like a big-endian GGUF file; only little-endian files are supported");
            }
            if (version != 2 && version != 3) {
                throw new ModelFormatException(path, versionAt, "unsupported GGUF version " + version + " (supported: 2, 3)");
            }
            out.version = (int) version;
        }

        private void readKeyValue(long index) {
            long keyAt = in.position();
            String key = in.string("key of metadata entry " + index);
            if (out.metadata.containsKey(key)) {
                throw new ModelFormatException(path, keyAt, "duplicate metadata key " + SafeText.quote(key));
            }
            long typeAt = in.position();
            long typeId = in.u32("value type of metadata " + SafeText.quote(key));
            GgufValueType type = GgufValueType.byIdOrNull(typeId);
            if (type == null) {
                throw new ModelFormatException(path, typeAt, "metadata " + SafeText.quote(key) + " has unknown value type " + typeId);
            }
            StringBuilder typeName = new StringBuilder();
            out.metadata.put(key, readValue(type, key, 0, typeName));
            out.metadataTypes.put(key, typeName.toString());
        }

        /** One value; {@code typeName} receives its GGUF type, e.g. ARRAY[ARRAY[INT32]]. */
        private Object readValue(GgufValueType type, String key, int depth, StringBuilder typeName) {
            String what = "value of metadata " + SafeText.quote(key);
            typeName.append(type.name());
            return switch (type) {
                case UINT8 -> in.u8(what);
                case INT8 -> in.i8(what);
                case UINT16 -> in.u16(what);
                case INT16 -> in.i16(what);
                case UINT32 -> in.u32(what);
                case INT32 -> in.i32(what);
                case UINT64, INT64 -> in.i64(what);
                case FLOAT32 -> in.f32(what);
                case FLOAT64 -> in.f64(what);
                case BOOL -> readBool(what);
                case STRING -> in.string(what);
                case ARRAY -> readArray(key, depth, typeName);
            };
        }

        private boolean readBool(String what) {
            long at = in.position();
            int b = in.u8(what);
            if (b > 1) {
                throw new ModelFormatException(path, at, what + " is a BOOL with byte value " + b + " (must be 0 or 1)");
            }
            return b == 1;
        }

        private Object readArray(String key, int depth, StringBuilder typeName) {
            long at = in.position();
            if (depth >= MAX_ARRAY_DEPTH) {
                throw new ModelFormatException(path, at, "metadata " + SafeText.quote(key) + " nests arrays deeper than " + MAX_ARRAY_DEPTH);
            }
            long elemId = in.u32("array element type of metadata " + SafeText.quote(key));
            GgufValueType elem = GgufValueType.byIdOrNull(elemId);
            if (elem == null) {
                throw new ModelFormatException(path, at, "metadata " + SafeText.quote(key) + " is an array of unknown value type " + elemId);
            }
            long countAt = in.position();
            long n = in.count("array length of metadata " + SafeText.quote(key), elem.minBytes());
            if (n > Integer.MAX_VALUE - 8) {
                throw new ModelFormatException(path, countAt, "metadata " + SafeText.quote(key) + " has " + n + " elements, too many for one array");
            }
            int len = (int) n;
            String what = "element of metadata " + SafeText.quote(key);
            typeName.append('[');
            Object result = switch (elem) {
                // The 32- and 64-bit types in one copy each (a vocabulary's scores and token types are 32,000+
                // values, each read alone a VarHandle call while the JVM still interprets).
                case INT32 -> {
                    typeName.append(elem.name());
                    yield in.i32s(len, what);
                }
                case UINT8, INT8, UINT16, INT16 -> {
                    int[] a = new int[len];
                    for (int i = 0; i < len; i++) {
                        a[i] = switch (elem) {
                            case UINT8 -> in.u8(what);
                            case INT8 -> in.i8(what);
                            case UINT16 -> in.u16(what);
                            default -> in.i16(what);
                        };
                    }
                    typeName.append(elem.name());
                    yield a;
                }
                case UINT32 -> {
                    int[] bits = in.i32s(len, what);
                    long[] a = new long[len];
                    for (int i = 0; i < len; i++) {
                        a[i] = Integer.toUnsignedLong(bits[i]);
                    }
                    typeName.append(elem.name());
                    yield a;
                }
                case INT64, UINT64 -> {
                    typeName.append(elem.name());
                    yield in.i64s(len, what);
                }
                case FLOAT32 -> {
                    typeName.append(elem.name());
                    yield in.f32s(len, what);
                }
                case FLOAT64 -> {
                    typeName.append(elem.name());
                    yield in.f64s(len, what);
                }
                case BOOL -> {
                    boolean[] a = new boolean[len];
                    for (int i = 0; i < len; i++) {
                        a[i] = readBool(what);
                    }
                    typeName.append(elem.name());
                    yield a;
                }
                case STRING -> {
                    String[] a = new String[len];
                    for (int i = 0; i < len; i++) {
                        a[i] = in.string(what);
                    }
                    typeName.append(elem.name());
                    yield a;
                }
                case ARRAY -> {
                    Object[] a = new Object[len];
                    StringBuilder first = new StringBuilder();
                    for (int i = 0; i < len; i++) {
                        StringBuilder inner = new StringBuilder();
                        a[i] = readArray(key, depth + 1, inner);
                        if (i == 0) {
                            first = inner;
                        }
                    }
                    // Inner arrays may differ in element type; the first one stands for all in messages.
                    typeName.append("ARRAY").append(len == 0 ? "" : first.toString());
                    yield a;
                }
            };
            typeName.append(']');
            return result;
        }

        private int readAlignment() {
            Object v = out.metadata.get("general.alignment");
            if (v == null) {
                return DEFAULT_ALIGNMENT;
            }
            long a = v instanceof Integer i ? i : v instanceof Long l ? l : -1;
            if (!(v instanceof Integer || v instanceof Long)) {
                throw new ModelFormatException(path, "general.alignment must be an integer, found "
                        + out.metadataTypes.get("general.alignment"));
            }
            if (a <= 0 || a > (1 << 30) || Long.bitCount(a) != 1) {
                throw new ModelFormatException(path, "general.alignment is " + a + "; it must be a power of two");
            }
            return (int) a;
        }

        private record TensorInfo(String name, long[] dims, GgmlType type, long relativeOffset, long infoAt) {}

        private TensorInfo readTensorInfo(long index) {
            long infoAt = in.position();
            String name = in.string("name of tensor " + index);
            if (out.tensors.containsKey(name)) {
                throw new ModelFormatException(path, infoAt, "duplicate tensor name " + SafeText.quote(name));
            }
            out.tensors.put(name, null); // reserves the name for the duplicate check; replaced by locate()
            long nDimsAt = in.position();
            long nDims = in.u32("dimension count of tensor " + SafeText.quote(name));
            if (nDims == 0 || nDims > MAX_DIMS) {
                throw new ModelFormatException(path, nDimsAt, "tensor " + SafeText.quote(name) + " has " + nDims
                        + " dimensions; it must have 1 to " + MAX_DIMS);
            }
            long[] dims = new long[(int) nDims];
            long elements = 1;
            for (int d = 0; d < nDims; d++) {
                long dimAt = in.position();
                dims[d] = in.i64("dimension " + d + " of tensor " + SafeText.quote(name));
                if (dims[d] <= 0) {
                    throw new ModelFormatException(path, dimAt, "tensor " + SafeText.quote(name) + " has dimension " + d + " = "
                            + Long.toUnsignedString(dims[d]) + "; dimensions must be positive");
                }
                try {
                    elements = Math.multiplyExact(elements, dims[d]);
                } catch (ArithmeticException overflow) {
                    throw new ModelFormatException(path, dimAt, "tensor " + SafeText.quote(name) + " has too many elements: "
                            + "the product of its dimensions overflows 64 bits");
                }
            }
            long typeAt = in.position();
            GgmlType type = GgmlType.byId(in.u32("type of tensor " + SafeText.quote(name)), path, typeAt, name);
            long offsetAt = in.position();
            long rel = in.i64("data offset of tensor " + SafeText.quote(name));
            if (rel < 0) {
                throw new ModelFormatException(path, offsetAt, "tensor " + SafeText.quote(name) + " has data offset "
                        + Long.toUnsignedString(rel) + ", past any file");
            }
            return new TensorInfo(name, dims, type, rel, infoAt);
        }

        private GgufTensor locate(TensorInfo t) {
            if (t.relativeOffset % out.alignment != 0) {
                throw new ModelFormatException(path, t.infoAt, "tensor " + SafeText.quote(t.name) + " has data offset "
                        + t.relativeOffset + ", not a multiple of the alignment " + out.alignment);
            }
            long rowLength = t.dims[0];
            long rows = 1;
            for (int d = 1; d < t.dims.length; d++) {
                rows *= t.dims[d]; // a factor of the element count, which did not overflow
            }
            if (rowLength % t.type.blockSize() != 0) {
                throw new ModelFormatException(path, t.infoAt, "tensor " + SafeText.quote(t.name) + " has rows of " + rowLength
                        + " elements, not a multiple of the " + t.type + " block size " + t.type.blockSize());
            }
            long bytes = t.type.bytesFor(rowLength, rows);
            long start = out.dataOffset + t.relativeOffset;
            long fileSize = mapping.byteSize();
            if (bytes < 0 || start < 0 || start > fileSize || bytes > fileSize - start) {
                throw new ModelFormatException(path, t.infoAt, "tensor " + SafeText.quote(t.name) + " data at offset " + start
                        + " (" + (bytes < 0 ? "size overflows 64 bits" : bytes + " bytes")
                        + ") extends past the end of the file (" + fileSize + " bytes)");
            }
            return new GgufTensor(t.name, t.type, t.dims, start, bytes, mapping.asSlice(start, bytes));
        }
    }
}
