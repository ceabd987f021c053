package dev.tandem.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import org.junit.jupiter.api.Test;

/**
 * The claim {@link AlignedFloats} rests on: where the JVM aligns objects to 64 bytes, element FIRST of
 * every float[] starts a cache line. The default kernel test JVM runs with -XX:ObjectAlignmentInBytes=64
 * and tandem.objectAlignment=64 (kernels/pom.xml), the 256-bit one without: both layouts are tested.
 */
class AlignedFloatsTest {
    @Test
    void theFirstAlignedElementFollowsTheObjectAlignment() {
        assertEquals(0, AlignedFloats.first(8));
        assertEquals(0, AlignedFloats.first(32), "a 32-byte boundary says nothing about 64-byte lines");
        assertEquals(12, AlignedFloats.first(64), "16 bytes of array header, then 48 to the next line");
        assertEquals(12, AlignedFloats.first(256));
        assertEquals(AlignedFloats.first(KernelConfig.objectAlignment()), AlignedFloats.FIRST);
    }

    /**
     * The arrays' real addresses, read by a native call that sees the pinned array (memchr finding the
     * byte stored at element 0 returns the element's address): no Java API gives an array's address.
     */
    @Test
    void elementFirstOfFreshArraysStartsACacheLine() throws Throwable {
        MethodHandle memchr = Linker.nativeLinker().downcallHandle(
                Linker.nativeLinker().defaultLookup().find("memchr").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG),
                Linker.Option.critical(true));
        int misaligned = 0;
        for (int n : new int[] {1, 3, 16, 100, 1000, 4097, 65_536, 1 << 20}) {
            for (int copy = 0; copy < 4; copy++) {
                float[] a = AlignedFloats.allocate(n);
                a[0] = Float.intBitsToFloat(0x7f); // a first byte memchr can find
                long address = ((MemorySegment) memchr.invokeExact(MemorySegment.ofArray(a), 0x7f, 4L)).address();
                if ((address + (long) Float.BYTES * AlignedFloats.FIRST) % AlignedFloats.LINE_BYTES != 0) {
                    misaligned++;
                }
                new byte[8 + 8 * copy].clone(); // move the allocation point by an odd amount
            }
        }
        if (KernelConfig.objectAlignment() >= AlignedFloats.LINE_BYTES) {
            assertEquals(0, misaligned, "arrays whose element FIRST is not on a 64-byte line");
        } else {
            assertEquals(0, AlignedFloats.FIRST, "nothing is known about where an array starts");
        }
    }
}
