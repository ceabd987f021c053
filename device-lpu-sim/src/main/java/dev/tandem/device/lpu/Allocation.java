package dev.tandem.device.lpu;

/**
 * A named SRAM region of one chip, live in cycles [from, until). Weights and KV caches live for the
 * whole program (until = {@link #FOREVER}); scratch may live for part of it.
 */
public record Allocation(int chip, String name, long offset, long bytes, long from, long until) {
    public static final long FOREVER = Long.MAX_VALUE;

    public long end() { return offset + bytes; }

    boolean liveAt(long cycle) { return cycle >= from && cycle < until; }

    boolean contains(long off, long len) { return off >= offset && off + len <= end(); }

    @Override
    public String toString() {
        return name + " on chip " + chip + " [" + offset + ", +" + bytes + ") cycles [" + from + ", "
                + (until == FOREVER ? "end" : until) + ")";
    }
}
