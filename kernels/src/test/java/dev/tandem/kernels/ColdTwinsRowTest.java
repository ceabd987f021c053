package dev.tandem.kernels;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ColdTwins.row: the requested bytes, in one buffer per thread that is reused (the twins allocate no row arrays). */
class ColdTwinsRowTest {
    @Test
    void rowsAreCopiedIntoOneReusedBufferPerThread() throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(4096);
            for (int i = 0; i < 4096; i++) {
                data.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 31 + 7));
            }
            byte[] first = ColdTwins.row(data, 100, 1000);
            byte[] expected = data.asSlice(100, 1000).toArray(ValueLayout.JAVA_BYTE);
            assertArrayEquals(expected, Arrays.copyOf(first, 1000));

            byte[] second = ColdTwins.row(data, 2000, 900);
            assertSame(first, second, "a shorter row reuses the buffer");
            assertArrayEquals(data.asSlice(2000, 900).toArray(ValueLayout.JAVA_BYTE), Arrays.copyOf(second, 900));

            byte[] longer = ColdTwins.row(data, 0, 3000);
            assertTrue(longer.length >= 3000);
            assertArrayEquals(data.asSlice(0, 3000).toArray(ValueLayout.JAVA_BYTE), Arrays.copyOf(longer, 3000));
            assertSame(longer, ColdTwins.row(data, 5, 10), "the grown buffer is kept");

            MemorySegment shared = Arena.global().allocate(64);
            AtomicReference<byte[]> other = new AtomicReference<>();
            Thread t = new Thread(() -> other.set(ColdTwins.row(shared, 0, 64)));
            t.start();
            t.join();
            assertNotSame(longer, other.get(), "another thread has its own buffer");
        }
    }
}
