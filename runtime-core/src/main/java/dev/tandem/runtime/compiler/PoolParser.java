package dev.tandem.runtime.compiler;

import dev.tandem.runtime.SafeText;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Parses DESIGN.md §8's POOL: a comma-separated list of NAME[*COUNT]; repeated names add up. */
public final class PoolParser {
    /** More devices of one kind than any machine room holds; far from int overflow when counts add up. */
    public static final int MAX_COUNT = 1 << 20;

    private PoolParser() {}

    public static Pool parse(String text, Catalog catalog) {
        if (text == null || text.isBlank()) {
            throw new PoolSyntaxException(String.valueOf(text), "the pool is empty; e.g. h100*8,lp30*64");
        }
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (String raw : text.split(",", -1)) {
            String token = raw.trim();
            if (token.isEmpty()) {
                throw new PoolSyntaxException(raw, "empty entry in '" + text + "'");
            }
            String name = token;
            int count = 1;
            int star = token.indexOf('*');
            if (star >= 0) {
                name = token.substring(0, star).trim();
                String n = token.substring(star + 1).trim();
                if (!n.matches("[+-]?[0-9]+")) {
                    throw new PoolSyntaxException(token, "count " + SafeText.quote(n) + " is not a whole number");
                }
                BigInteger asked = new BigInteger(n); // any length: an overflowing count is a usage error, not a wrap
                if (asked.signum() < 1) {
                    throw new PoolSyntaxException(token, "count must be at least 1");
                }
                if (asked.compareTo(BigInteger.valueOf(MAX_COUNT)) > 0) {
                    throw new PoolSyntaxException(token, "count " + SafeText.quote(n) + " is more than " + MAX_COUNT
                            + " devices of one kind");
                }
                count = asked.intValue();
            }
            name = name.toLowerCase(Locale.ROOT);
            if (!catalog.knows(name)) {
                throw new PoolSyntaxException(token, "unknown device '" + name + "'; known: " + String.join(", ", catalog.names()));
            }
            int total = counts.merge(name, count, Integer::sum); // both at most MAX_COUNT: no overflow
            if (total > MAX_COUNT) {
                throw new PoolSyntaxException(token, "the entries for '" + name + "' add up to " + total + " devices, more than "
                        + MAX_COUNT);
            }
        }
        List<DeviceGroup> groups = new ArrayList<>();
        counts.forEach((name, count) -> groups.add(catalog.resolve(name, count)));
        return new Pool(groups);
    }
}
