package dev.tandem.device.lpu;

import java.util.Map;
import java.util.TreeMap;

/** First-fit allocation of one chip's SRAM, with coalescing frees; 64-byte aligned. */
final class SramAllocator {
    private final long capacity;
    private final TreeMap<Long, Long> free = new TreeMap<>(); // offset -> bytes

    SramAllocator(long capacity) {
        this.capacity = capacity;
        free.put(0L, capacity);
    }

    private static long align(long bytes) { return Math.max(64, (bytes + 63) & ~63L); }

    /** The lowest offset with room for bytes, or -1. */
    long allocate(long bytes) {
        long need = align(bytes);
        for (Map.Entry<Long, Long> e : free.entrySet()) {
            if (e.getValue() >= need) {
                long off = e.getKey();
                free.remove(off);
                if (e.getValue() > need) {
                    free.put(off + need, e.getValue() - need);
                }
                return off;
            }
        }
        return -1;
    }

    void release(long offset, long bytes) {
        long size = align(bytes);
        Map.Entry<Long, Long> next = free.ceilingEntry(offset);
        if (next != null && next.getKey() == offset + size) {
            size += next.getValue();
            free.remove(next.getKey());
        }
        Map.Entry<Long, Long> prev = free.floorEntry(offset);
        if (prev != null && prev.getKey() + prev.getValue() == offset) {
            free.put(prev.getKey(), prev.getValue() + size);
        } else {
            free.put(offset, size);
        }
    }

    /** The largest free block. */
    long largestFree() {
        long best = 0;
        for (long v : free.values()) {
            best = Math.max(best, v);
        }
        return best;
    }

    long freeBytes() {
        long total = 0;
        for (long v : free.values()) {
            total += v;
        }
        return total;
    }

    long capacity() { return capacity; }
}
