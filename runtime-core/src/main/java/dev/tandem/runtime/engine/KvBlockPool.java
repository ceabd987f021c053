package dev.tandem.runtime.engine;

import dev.tandem.runtime.device.KvPoolSpec;

import java.util.BitSet;

/**
 * Which KV blocks of the device's pool are free. Blocks are handed out lowest id first, so a run is
 * reproducible. Used by the engine's step thread only.
 */
final class KvBlockPool {
    private final KvPoolSpec spec;
    private final BitSet free;
    /** Written by the step thread only; read by any (Engine.freeKvBlocks). */
    private volatile int freeCount;

    KvBlockPool(KvPoolSpec spec) {
        this.spec = spec;
        this.free = new BitSet(spec.blocks());
        free.set(0, spec.blocks());
        this.freeCount = spec.blocks();
    }

    KvPoolSpec spec() { return spec; }

    int freeBlocks() { return freeCount; }

    /** One free block's id, taken; -1 when the pool is dry. */
    int take() {
        int id = free.nextSetBit(0);
        if (id < 0) {
            return -1;
        }
        free.clear(id);
        freeCount--;
        return id;
    }

    /** Returns blocks [0, count) of ids to the pool. */
    void release(int[] ids, int count) {
        for (int i = 0; i < count; i++) {
            if (free.get(ids[i])) {
                throw new IllegalStateException("KV block " + ids[i] + " released twice");
            }
            free.set(ids[i]);
        }
        freeCount += count;
    }
}
