package dev.tandem.runtime.compiler;

import dev.tandem.runtime.error.SafeText;
import dev.tandem.runtime.device.DeviceOptionException;
import dev.tandem.runtime.device.DeviceOptions;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Parses DESIGN.md §8's POOL: a comma-separated list of {@code NAME[*COUNT][:KEY=VALUE,...]}; repeated
 * names add up. Options follow a colon, and the KEY=VALUE pieces after it belong to that entry until
 * the next piece that is not one (device names hold no '='): {@code cpu,lp30*2:clockHz=1.1e9,sramBytes=4e8,h100}.
 */
public final class PoolParser {
    /** More devices of one kind than any machine room holds; far from int overflow when counts add up. */
    public static final int MAX_COUNT = 1 << 20;

    private PoolParser() {}

    /** One entry as written: NAME[*COUNT], and its options. */
    private record Entry(String head, String token, DeviceOptions options) {}

    public static Pool parse(String text, Catalog catalog) {
        if (text == null || text.isBlank()) {
            throw new PoolSyntaxException(String.valueOf(text), "the pool is empty; e.g. h100*8,lp30*64");
        }
        List<Entry> entries = new ArrayList<>();
        for (String raw : text.split(",", -1)) {
            String piece = raw.trim();
            if (piece.isEmpty()) {
                throw new PoolSyntaxException(raw, "empty entry in '" + text + "'");
            }
            try {
                int colon = piece.indexOf(':');
                if (colon < 0 && DeviceOptions.isPair(piece)) {
                    if (entries.isEmpty() || entries.getLast().options().isEmpty()) {
                        throw new PoolSyntaxException(piece, "an option must follow a device and a ':', as in lp30*2:clockHz=1.1e9");
                    }
                    Entry last = entries.removeLast();
                    entries.add(new Entry(last.head(), last.token() + "," + piece, last.options().with(piece)));
                } else if (colon >= 0) {
                    entries.add(new Entry(piece.substring(0, colon).trim(), piece, DeviceOptions.parse(piece.substring(colon + 1))));
                } else {
                    entries.add(new Entry(piece, piece, DeviceOptions.none()));
                }
            } catch (DeviceOptionException e) {
                throw new PoolSyntaxException(piece, e.getMessage());
            }
        }
        Map<String, Integer> counts = new LinkedHashMap<>();
        Map<String, Entry> first = new LinkedHashMap<>();
        for (Entry e : entries) {
            String name = e.head();
            int count = 1;
            int star = name.indexOf('*');
            if (star >= 0) {
                String n = name.substring(star + 1).trim();
                name = name.substring(0, star).trim();
                if (!n.matches("[+-]?[0-9]+")) {
                    throw new PoolSyntaxException(e.token(), "count " + SafeText.quote(n) + " is not a whole number");
                }
                BigInteger asked = new BigInteger(n); // any length: an overflowing count is a usage error, not a wrap
                if (asked.signum() < 1) {
                    throw new PoolSyntaxException(e.token(), "count must be at least 1");
                }
                if (asked.compareTo(BigInteger.valueOf(MAX_COUNT)) > 0) {
                    throw new PoolSyntaxException(e.token(), "count " + SafeText.quote(n) + " is more than " + MAX_COUNT
                            + " devices of one kind");
                }
                count = asked.intValue();
            }
            name = name.toLowerCase(Locale.ROOT);
            if (!catalog.knows(name)) {
                throw new PoolSyntaxException(e.token(), "unknown device '" + name + "'; known: " + String.join(", ", catalog.names()));
            }
            Entry before = first.putIfAbsent(name, e);
            if (before != null && !before.options().equals(e.options())) {
                throw new PoolSyntaxException(e.token(), name + " appears with other options in '" + before.token() + "'");
            }
            int total = counts.merge(name, count, Integer::sum); // both at most MAX_COUNT: no overflow
            if (total > MAX_COUNT) {
                throw new PoolSyntaxException(e.token(), "the entries for '" + name + "' add up to " + total
                        + " devices, more than " + MAX_COUNT);
            }
        }
        List<DeviceGroup> groups = new ArrayList<>();
        counts.forEach((name, count) -> {
            Entry e = first.get(name);
            try {
                groups.add(catalog.resolve(name, e.options(), count));
            } catch (DeviceOptionException x) {
                throw new PoolSyntaxException(e.token(), x.getMessage());
            }
        });
        return new Pool(groups);
    }
}
