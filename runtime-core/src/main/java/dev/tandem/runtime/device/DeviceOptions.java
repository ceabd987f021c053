package dev.tandem.runtime.device;

import dev.tandem.runtime.error.SafeText;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The KEY=VALUE options that travel with a device name, as in {@code --device lpu:preset=lp30,chips=4}
 * or the pool entry {@code lp30*2:clockHz=1.1e9}. A backend receives them explicitly and refuses the
 * keys it does not know, so an option never silently does nothing.
 */
public record DeviceOptions(Map<String, String> values) {
    /** Option keys: a letter, then letters, digits, '_', '.' or '-'. */
    static final Pattern KEY = Pattern.compile("[A-Za-z][A-Za-z0-9_.-]*");

    public DeviceOptions {
        values = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(values));
    }

    public static DeviceOptions none() { return new DeviceOptions(Map.of()); }

    /**
     * Parses comma-separated KEY=VALUE pairs (blank gives none).
     * @throws DeviceOptionException naming the pair that is not KEY=VALUE or repeats a key
     */
    public static DeviceOptions parse(String text) {
        DeviceOptions o = none();
        if (text == null || text.isBlank()) {
            return o;
        }
        for (String pair : text.split(",", -1)) {
            o = o.with(pair);
        }
        return o;
    }

    /** Whether a comma-separated piece of a pool is a KEY=VALUE pair (device names never hold '='). */
    public static boolean isPair(String text) {
        int eq = text.indexOf('=');
        return eq > 0 && KEY.matcher(text.substring(0, eq).trim()).matches();
    }

    /** These options and one more "KEY=VALUE" pair. */
    public DeviceOptions with(String pair) {
        int eq = pair.indexOf('=');
        if (eq <= 0 || !KEY.matcher(pair.substring(0, eq).trim()).matches()) {
            throw new DeviceOptionException("device option '" + pair.trim() + "' is not KEY=VALUE");
        }
        return with(pair.substring(0, eq).trim(), pair.substring(eq + 1).trim());
    }

    /** These options and key=value; the same key twice with different values is an error. */
    public DeviceOptions with(String key, String value) {
        String before = values.get(key);
        if (before != null && !before.equals(value)) {
            throw new DeviceOptionException("device option '" + key + "' given twice: " + before + " and " + value);
        }
        Map<String, String> m = new LinkedHashMap<>(values);
        m.put(key, value);
        return new DeviceOptions(m);
    }

    public Optional<String> get(String key) { return Optional.ofNullable(values.get(key)); }

    public boolean isEmpty() { return values.isEmpty(); }

    public Set<String> keys() { return values.keySet(); }

    /**
     * Refuses the first key outside known.
     * @param device what the options were given for, for the message
     * @throws DeviceOptionException naming the key and the keys the device takes
     */
    public void requireKnown(String device, Collection<String> known) {
        for (String k : values.keySet()) {
            if (!known.contains(k)) {
                throw new DeviceOptionException(known.isEmpty()
                        ? "device '" + device + "' takes no options, got " + SafeText.quote(k)
                        : "device '" + device + "' has no option " + SafeText.quote(k) + "; options: " + list(known));
            }
        }
    }

    /** The known keys, cut short so a message stays one short line. */
    private static String list(Collection<String> known) {
        StringBuilder sb = new StringBuilder();
        int shown = 0;
        for (String k : known) {
            if (sb.length() + k.length() > 120) {
                return sb + ", ... (" + (known.size() - shown) + " more)";
            }
            sb.append(sb.isEmpty() ? "" : ", ").append(k);
            shown++;
        }
        return sb.toString();
    }

    /** "k=v,k=v" (empty for none), as it is written after the device's name and a colon. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        values.forEach((k, v) -> sb.append(sb.isEmpty() ? "" : ",").append(k).append('=').append(v));
        return sb.toString();
    }
}
