package dev.tandem.runtime.compiler;

import dev.tandem.runtime.error.TandemException;

/**
 * A plan's memory does not fit its devices. Names what, where, by how many bytes, and how many
 * devices of that kind would hold it (the CLI exits 4).
 */
public final class CapacityException extends TandemException {
    private final String what;
    private final String where;
    private final long shortBytes;
    private final int minDevices;

    public CapacityException(String what, String where, long neededBytes, long availableBytes, int minDevices, String deviceName) {
        super(String.format(java.util.Locale.ROOT,
                "%s does not fit on %s: needs %d bytes (%.1f GB), has %d (%.1f GB), short by %d bytes; needs at least %d %s",
                what, where, neededBytes, neededBytes / 1e9, availableBytes, availableBytes / 1e9, neededBytes - availableBytes,
                minDevices, deviceName));
        this.what = what;
        this.where = where;
        this.shortBytes = neededBytes - availableBytes;
        this.minDevices = minDevices;
    }

    /**
     * No number of these devices holds it (every layout was tried): minDevices is 0 and the message
     * says why instead of a count.
     */
    public CapacityException(String what, String where, String why) {
        super(what + " does not fit on " + where + " with any number of its devices: " + why);
        this.what = what;
        this.where = where;
        this.shortBytes = 0;
        this.minDevices = 0;
    }

    public String what() { return what; }

    public String where() { return where; }

    public long shortBytes() { return shortBytes; }

    public int minDevices() { return minDevices; }
}
