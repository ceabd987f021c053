package dev.tandem.device.lpu;

/**
 * Something an instruction reads or writes on its chip. The validator and the scheduler compare
 * locations for overlap; nothing else about them matters to timing.
 */
public sealed interface Location {
    /** Whether the two locations share any storage. */
    boolean overlaps(Location other);

    /** SRAM bytes [offset, offset + bytes). */
    record Sram(long offset, long bytes) implements Location {
        public long end() { return offset + bytes; }

        @Override
        public boolean overlaps(Location other) {
            return other instanceof Sram s && offset < s.end() && s.offset < end();
        }

        @Override
        public String toString() { return "sram[" + offset + ", +" + bytes + ")"; }
    }

    /** fp32 elements [offset, offset + length) of stream register id. */
    record Stream(int id, int offset, int length) implements Location {
        @Override
        public boolean overlaps(Location other) {
            return other instanceof Stream s && s.id == id && offset < s.offset + s.length && s.offset < offset + length;
        }

        @Override
        public String toString() { return "s" + id + "[" + offset + ", +" + length + ")"; }
    }

    /** An MXM weight buffer. */
    record WeightBuffer(int id) implements Location {
        @Override
        public boolean overlaps(Location other) {
            return other instanceof WeightBuffer w && w.id == id;
        }

        @Override
        public String toString() { return "wbuf" + id; }
    }
}
