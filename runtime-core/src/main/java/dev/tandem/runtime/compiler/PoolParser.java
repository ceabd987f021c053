package dev.tandem.runtime.compiler;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Parses DESIGN.md §8's POOL: a comma-separated list of NAME[*COUNT]; repeated names add up. */
public final class PoolParser {
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
                try {
                    count = Integer.parseInt(n);
                } catch (NumberFormatException e) {
                    throw new PoolSyntaxException(token, "count '" + n + "' is not a whole number");
                }
                if (count < 1) {
                    throw new PoolSyntaxException(token, "count must be at least 1");
                }
            }
            name = name.toLowerCase(Locale.ROOT);
            if (!catalog.knows(name)) {
                throw new PoolSyntaxException(token, "unknown device '" + name + "'; known: " + String.join(", ", catalog.names()));
            }
            counts.merge(name, count, Integer::sum);
        }
        List<DeviceGroup> groups = new ArrayList<>();
        counts.forEach((name, count) -> groups.add(catalog.resolve(name, count)));
        return new Pool(groups);
    }
}
