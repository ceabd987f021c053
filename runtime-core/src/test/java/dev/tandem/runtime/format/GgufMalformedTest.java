package dev.tandem.runtime.format;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;

import static dev.tandem.runtime.format.FormatAssertions.assertGgufError;

/** One test per way a GGUF file can be malformed; each must be a ModelFormatException naming file and offset. */
class GgufMalformedTest {
    private static final int HEADER = 24;
    private static final int ARRAY = GgufValueType.ARRAY.id();
    private static final int INT32 = GgufValueType.INT32.id();
    private static final int STRING = GgufValueType.STRING.id();

    @TempDir
    Path dir;

    @Test
    void badMagic() {
        byte[] b = RawGguf.header(3, 0, 0).bytes();
        b[3] = 'X';
        assertGgufError(dir, b, 0, "bad magic", "not a GGUF file");
    }

    @Test
    void truncatedHeader() {
        byte[] b = Arrays.copyOf(RawGguf.header(3, 0, 0).bytes(), 10);
        assertGgufError(dir, b, 8, "truncated", "tensor count");
    }

    @Test
    void emptyFile() {
        assertGgufError(dir, new byte[0], 0, "truncated", "magic");
    }

    @Test
    void versionOneIsRefusedClearly() {
        assertGgufError(dir, RawGguf.header(1, 0, 0).bytes(), 4, "GGUF v1 is not supported");
    }

    @Test
    void unknownVersion() {
        assertGgufError(dir, RawGguf.header(7, 0, 0).bytes(), 4, "unsupported GGUF version 7");
    }

    @Test
    void bigEndianFile() {
        assertGgufError(dir, RawGguf.header(0x03000000L, 0, 0).bytes(), 4, "big-endian");
    }

    @Test
    void versionTwoIsRead() throws Exception {
        Path file = FormatAssertions.write(dir, "v2.gguf", RawGguf.header(2, 0, 1).kvU32("a", 5).bytes());
        try (GgufFile g = GgufFile.open(file)) {
            org.junit.jupiter.api.Assertions.assertEquals(2, g.version());
            org.junit.jupiter.api.Assertions.assertEquals(5L, g.requireLong("a"));
        }
    }

    @Test
    void truncatedValue() {
        byte[] b = RawGguf.header(3, 0, 1).str("k").u32(GgufValueType.UINT64.id()).u32(0).bytes();
        assertGgufError(dir, b, HEADER + 9 + 4, "truncated", "metadata 'k'");
    }

    @Test
    void stringLengthPastEndOfFile() {
        byte[] b = RawGguf.header(3, 0, 1).str("general.name").u32(STRING).u64(100).u8('a').u8('b').u8('c').bytes();
        assertGgufError(dir, b, HEADER + 20 + 4, "length is 100", "3 bytes left");
    }

    @Test
    void absurdStringLength() {
        byte[] b = RawGguf.header(3, 0, 1).str("k").u32(STRING).u64(-1).zeros(16).bytes();
        assertGgufError(dir, b, HEADER + 9 + 4, "18446744073709551615");
    }

    @Test
    void absurdKeyLength() {
        byte[] b = RawGguf.header(3, 0, 1).u64(Long.MAX_VALUE).zeros(16).bytes();
        assertGgufError(dir, b, HEADER, "key of metadata entry 0 length");
    }

    @Test
    void arrayLengthPastEndOfFile() {
        byte[] b = RawGguf.header(3, 0, 1).str("k").u32(ARRAY).u32(INT32).u64(1000).zeros(8).bytes();
        assertGgufError(dir, b, HEADER + 9 + 4 + 4, "array length of metadata 'k'", "1000");
    }

    @Test
    void absurdArrayLength() {
        byte[] b = RawGguf.header(3, 0, 1).str("k").u32(ARRAY).u32(GgufValueType.UINT8.id()).u64(Long.MIN_VALUE).zeros(8).bytes();
        assertGgufError(dir, b, HEADER + 9 + 4 + 4, "array length of metadata 'k'");
    }

    @Test
    void stringArrayCountBoundedBeforeAllocating() {
        // 2^40 strings of at least 8 bytes each cannot fit in 64 bytes: refused before new String[..].
        byte[] b = RawGguf.header(3, 0, 1).str("k").u32(ARRAY).u32(STRING).u64(1L << 40).zeros(64).bytes();
        assertGgufError(dir, b, HEADER + 9 + 4 + 4, "at least 8 bytes each");
    }

    @Test
    void tooManyMetadataEntriesForFileSize() {
        byte[] b = RawGguf.header(3, 0, 1_000_000).kvU32("a", 1).bytes();
        assertGgufError(dir, b, 16, "metadata entry count is 1000000");
    }

    @Test
    void tooManyTensorsForFileSize() {
        byte[] b = RawGguf.header(3, 1L << 40, 0).zeros(100).bytes();
        assertGgufError(dir, b, 8, "tensor count is 1099511627776");
    }

    @Test
    void unknownMetadataValueType() {
        byte[] b = RawGguf.header(3, 0, 1).str("k").u32(13).u32(0).bytes();
        assertGgufError(dir, b, HEADER + 9, "metadata 'k' has unknown value type 13");
    }

    @Test
    void unknownArrayElementType() {
        byte[] b = RawGguf.header(3, 0, 1).str("k").u32(ARRAY).u32(99).u64(0).bytes();
        assertGgufError(dir, b, HEADER + 9 + 4, "array of unknown value type 99");
    }

    @Test
    void arraysNestedTooDeep() {
        RawGguf raw = RawGguf.header(3, 0, 1).str("k").u32(ARRAY);
        for (int i = 0; i < GgufFile.MAX_ARRAY_DEPTH + 1; i++) {
            raw.u32(ARRAY).u64(1);
        }
        raw.u32(INT32).u64(0);
        long deepest = HEADER + 9 + 4 + 12L * GgufFile.MAX_ARRAY_DEPTH;
        assertGgufError(dir, raw.bytes(), deepest, "nests arrays deeper than " + GgufFile.MAX_ARRAY_DEPTH);
    }

    @Test
    void invalidBool() {
        byte[] b = RawGguf.header(3, 0, 1).str("k").u32(GgufValueType.BOOL.id()).u8(7).bytes();
        assertGgufError(dir, b, HEADER + 9 + 4, "BOOL with byte value 7");
    }

    @Test
    void duplicateKey() {
        byte[] b = RawGguf.header(3, 0, 2).kvU32("a", 1).kvU32("a", 2).bytes();
        assertGgufError(dir, b, HEADER + 17, "duplicate metadata key 'a'");
    }

    @Test
    void alignmentNotPowerOfTwo() {
        byte[] b = RawGguf.header(3, 0, 1).kvU32("general.alignment", 24).bytes();
        assertGgufError(dir, b, -1, "general.alignment is 24", "power of two");
    }

    @Test
    void truncatedTensorInfo() {
        byte[] full = RawGguf.header(3, 1, 0).tensorInfo("t", 0, 0, 4, 4).bytes();
        byte[] b = Arrays.copyOf(full, full.length - 4);
        assertGgufError(dir, b, full.length - 8, "truncated", "data offset of tensor 't'");
    }

    @Test
    void duplicateTensorName() {
        RawGguf raw = RawGguf.header(3, 2, 0).tensorInfo("t", 0, 0, 8);
        int second = raw.size();
        raw.tensorInfo("t", 0, 32, 8).padTo(32).zeros(64);
        assertGgufError(dir, raw.bytes(), second, "duplicate tensor name 't'");
    }

    @Test
    void tooManyDimensions() {
        byte[] b = RawGguf.header(3, 1, 0).tensorInfo("t", 0, 0, 1, 1, 1, 1, 2).padTo(32).zeros(64).bytes();
        assertGgufError(dir, b, HEADER + 9, "tensor 't' has 5 dimensions");
    }

    @Test
    void zeroDimensions() {
        byte[] b = RawGguf.header(3, 1, 0).tensorInfo("t", 0, 0).padTo(32).zeros(64).bytes();
        assertGgufError(dir, b, HEADER + 9, "tensor 't' has 0 dimensions");
    }

    @Test
    void zeroDimension() {
        byte[] b = RawGguf.header(3, 1, 0).tensorInfo("t", 0, 0, 4, 0).padTo(32).zeros(64).bytes();
        assertGgufError(dir, b, HEADER + 9 + 4 + 8, "dimension 1 = 0", "must be positive");
    }

    @Test
    void negativeDimension() {
        byte[] b = RawGguf.header(3, 1, 0).tensorInfo("t", 0, 0, -4).padTo(32).zeros(64).bytes();
        assertGgufError(dir, b, HEADER + 9 + 4, "tensor 't' has dimension 0", "must be positive");
    }

    @Test
    void elementCountOverflow() {
        byte[] b = RawGguf.header(3, 1, 0).tensorInfo("t", 0, 0, 1L << 32, 1L << 32).padTo(32).zeros(64).bytes();
        assertGgufError(dir, b, HEADER + 9 + 4 + 8, "tensor 't' has too many elements");
    }

    @Test
    void byteSizeOverflow() {
        byte[] b = RawGguf.header(3, 1, 0).tensorInfo("t", 0, 0, 1L << 62).padTo(32).zeros(64).bytes();
        assertGgufError(dir, b, HEADER, "tensor 't'", "size overflows");
    }

    @Test
    void unknownTensorType() {
        byte[] b = RawGguf.header(3, 1, 0).tensorInfo("x", 123, 0, 32).padTo(32).zeros(128).bytes();
        assertGgufError(dir, b, HEADER + 9 + 4 + 8, "unknown tensor type 123 for tensor 'x'");
    }

    @Test
    void retiredTensorTypeIsUnknown() {
        byte[] b = RawGguf.header(3, 1, 0).tensorInfo("x", 4, 0, 32).padTo(32).zeros(128).bytes();
        assertGgufError(dir, b, HEADER + 9 + 4 + 8, "unknown tensor type 4 for tensor 'x'");
    }

    @Test
    void negativeDataOffset() {
        byte[] b = RawGguf.header(3, 1, 0).tensorInfo("t", 0, -32, 8).padTo(32).zeros(64).bytes();
        assertGgufError(dir, b, HEADER + 9 + 4 + 8 + 4, "tensor 't' has data offset");
    }

    @Test
    void tensorDataOutsideFile() {
        byte[] b = RawGguf.header(3, 1, 0).tensorInfo("t", 0, 1 << 20, 8).padTo(32).zeros(64).bytes();
        assertGgufError(dir, b, HEADER, "tensor 't' data at offset", "extends past the end of the file");
    }

    @Test
    void tensorDataOverlapsEndOfFile() {
        // 16 floats = 64 bytes, but only 32 bytes of data follow the header: a file cut inside its data.
        byte[] b = RawGguf.header(3, 1, 0).tensorInfo("t", 0, 0, 16).padTo(32).zeros(32).bytes();
        assertGgufError(dir, b, HEADER, "tensor 't'", "64 bytes", "extends past the end");
    }

    @Test
    void misalignedTensorOffset() {
        byte[] b = RawGguf.header(3, 1, 0).tensorInfo("t", 0, 4, 8).padTo(32).zeros(64).bytes();
        assertGgufError(dir, b, HEADER, "tensor 't' has data offset 4", "alignment 32");
    }

    @Test
    void rowNotWholeBlocks() {
        byte[] b = RawGguf.header(3, 1, 0).tensorInfo("t", GgmlType.Q8_0.id(), 0, 33, 2).padTo(32).zeros(128).bytes();
        assertGgufError(dir, b, HEADER, "tensor 't' has rows of 33 elements", "Q8_0 block size 32");
    }
}
