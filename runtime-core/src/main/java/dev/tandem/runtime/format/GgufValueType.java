package dev.tandem.runtime.format;

/**
 * GGUF metadata value types, by the id the file stores. {@link #javaType()} is what
 * {@link GgufFile#metadata()} holds for a scalar of this type; arrays hold a primitive array of the
 * element's kind (see {@link GgufFile}).
 */
public enum GgufValueType {
    UINT8(0, 1), INT8(1, 1), UINT16(2, 2), INT16(3, 2), UINT32(4, 4), INT32(5, 4), FLOAT32(6, 4), BOOL(7, 1),
    /** uint64 length + UTF-8 bytes: at least 8 bytes. */
    STRING(8, 8),
    /** uint32 element type + uint64 count: at least 12 bytes. */
    ARRAY(9, 12),
    UINT64(10, 8), INT64(11, 8), FLOAT64(12, 8);

    private static final GgufValueType[] BY_ID = values();

    private final int id;
    private final int minBytes;

    GgufValueType(int id, int minBytes) {
        this.id = id;
        this.minBytes = minBytes;
    }

    public int id() { return id; }

    /** The fewest bytes one value of this type takes in a file (used to bound counts before allocating). */
    public int minBytes() { return minBytes; }

    /** The type with this id, or null. Ids equal ordinals, which the declaration order keeps. */
    public static GgufValueType byIdOrNull(long id) {
        return id >= 0 && id < BY_ID.length ? BY_ID[(int) id] : null;
    }

    /** The Java class of a scalar value of this type, as read. */
    public Class<?> javaType() {
        return switch (this) {
            case UINT8, INT8, UINT16, INT16, INT32 -> Integer.class;
            case UINT32, INT64, UINT64 -> Long.class;
            case FLOAT32 -> Float.class;
            case FLOAT64 -> Double.class;
            case BOOL -> Boolean.class;
            case STRING -> String.class;
            case ARRAY -> Object.class;
        };
    }

    /** The Java array class of an array of this element type, as read. */
    public Class<?> javaArrayType() {
        return switch (this) {
            case UINT8, INT8, UINT16, INT16, INT32 -> int[].class;
            case UINT32, INT64, UINT64 -> long[].class;
            case FLOAT32 -> float[].class;
            case FLOAT64 -> double[].class;
            case BOOL -> boolean[].class;
            case STRING -> String[].class;
            case ARRAY -> Object[].class;
        };
    }
}
