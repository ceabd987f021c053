package dev.tandem.runtime.format;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Builds GGUF bytes by hand, independently of {@link GgufWriter}, so tests control every field
 * (including wrong ones) and know each field's offset.
 */
final class RawGguf {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    static RawGguf header(long version, long tensors, long kvs) {
        return new RawGguf().u32(GgufFile.MAGIC).u32(version).u64(tensors).u64(kvs);
    }

    RawGguf u8(int v) { out.write(v); return this; }

    RawGguf u32(long v) { return put(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v)); }

    RawGguf u64(long v) { return put(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v)); }

    RawGguf f32(float v) { return put(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(v)); }

    RawGguf str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        u64(b.length);
        out.writeBytes(b);
        return this;
    }

    /** A string of raw bytes, valid UTF-8 or not. */
    RawGguf rawStr(byte[] b) {
        u64(b.length);
        out.writeBytes(b);
        return this;
    }

    /** A key with a UINT32 value. */
    RawGguf kvU32(String key, long v) { return str(key).u32(GgufValueType.UINT32.id()).u32(v); }

    RawGguf tensorInfo(String name, int type, long offset, long... dims) {
        str(name).u32(dims.length);
        for (long d : dims) {
            u64(d);
        }
        return u32(type).u64(offset);
    }

    RawGguf padTo(int alignment) {
        while (out.size() % alignment != 0) {
            out.write(0);
        }
        return this;
    }

    RawGguf zeros(int n) { out.writeBytes(new byte[n]); return this; }

    int size() { return out.size(); }

    byte[] bytes() { return out.toByteArray(); }

    private RawGguf put(ByteBuffer b) {
        out.writeBytes(b.array());
        return this;
    }
}
