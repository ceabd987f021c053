package dev.tandem.factory;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.tandem.runtime.error.ModelFormatException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Price tiers: the defaults, or a YAML or JSON file of the form
 * <pre>
 * tiers:
 *   - {name: free, price_per_m_tokens: 0, min_tokens_per_s_per_user: 10}
 *   - {name: fast, price_per_m_tokens: 45, min_tokens_per_s_per_user: 300, demand_tokens_per_s: 2.0e6}
 * </pre>
 */
public final class Tiers {
    private Tiers() {}

    /**
     * The seeds' prices (GTC 2025/2026: free, then about $3, $6, $45 and $150 per million tokens)
     * with speed floors chosen here (docs/factory.md says why): 10, 40, 100, 300 and 1,000 output
     * tokens/s per user. No demand limits.
     */
    public static List<Tier> defaults() {
        return List.of(new Tier("free", 0, 10, null), new Tier("$3", 3, 40, null), new Tier("$6", 6, 100, null),
                new Tier("$45", 45, 300, null), new Tier("$150", 150, 1000, null));
    }

    private record TierFile(@JsonProperty(value = "tiers", required = true) List<Tier> tiers) {
        @JsonCreator
        TierFile {}
    }

    /** Reads a tier file (YAML, of which JSON is a subset); a problem names the file, its line and the field. */
    public static List<Tier> read(Path file) {
        if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
            throw new ModelFormatException(file, "cannot read the tier file (missing, a directory, or not readable)");
        }
        ObjectMapper mapper = new ObjectMapper(new YAMLFactory())
                .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);
        TierFile parsed;
        try {
            parsed = mapper.readValue(file.toFile(), TierFile.class);
        } catch (com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException e) {
            // A record's properties are buffered, so Jackson's location is the end of the tier: find the key's own line.
            int line = lineOfKey(file, e.getPropertyName());
            throw new ModelFormatException(file, (line > 0 ? "line " + line + ": " : where(e.getLocation())) + fieldOf(e) + ": " + cause(e));
        } catch (JsonMappingException e) {
            if (e.getCause() instanceof com.fasterxml.jackson.core.JsonParseException syntax) {
                throw new ModelFormatException(file, where(syntax.getLocation()) + "not YAML or JSON: " + firstLine(syntax.getOriginalMessage()));
            }
            throw new ModelFormatException(file, where(e.getLocation()) + fieldOf(e) + ": " + cause(e));
        } catch (JsonProcessingException e) {
            throw new ModelFormatException(file, where(e.getLocation()) + "not YAML or JSON: " + firstLine(e.getOriginalMessage()));
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot read the tier file: " + e.getMessage());
        }
        if (parsed == null || parsed.tiers() == null || parsed.tiers().isEmpty()) {
            throw new ModelFormatException(file, "field 'tiers': needs at least one tier");
        }
        Set<String> names = new HashSet<>();
        for (int i = 0; i < parsed.tiers().size(); i++) {
            Tier t = parsed.tiers().get(i);
            if (t == null) {
                throw new ModelFormatException(file, "field 'tiers[" + i + "]': is empty");
            }
            if (!names.add(t.name())) {
                throw new ModelFormatException(file, "field 'tiers[" + i + "].name': '" + t.name() + "' appears twice");
            }
        }
        return List.copyOf(parsed.tiers());
    }

    /** The first line where {@code key} is a mapping key, or 0. */
    private static int lineOfKey(Path file, String key) {
        java.util.regex.Pattern p = java.util.regex.Pattern.compile("(^|[\\s{,-])[\"']?" + java.util.regex.Pattern.quote(key) + "[\"']?\\s*:");
        try {
            List<String> lines = Files.readAllLines(file);
            for (int i = 0; i < lines.size(); i++) {
                if (p.matcher(lines.get(i)).find()) {
                    return i + 1;
                }
            }
        } catch (IOException | java.io.UncheckedIOException e) {
            return 0;
        }
        return 0;
    }

    private static String where(JsonLocation l) {
        return l == null || l.getLineNr() < 1 ? "" : "line " + l.getLineNr() + ": ";
    }

    /** "field 'tiers[2].price_per_m_tokens'" from Jackson's path. */
    private static String fieldOf(JsonMappingException e) {
        String path = e.getPath().stream().map(r -> r.getFieldName() != null ? "." + r.getFieldName() : "[" + r.getIndex() + "]")
                .collect(Collectors.joining());
        if (e instanceof com.fasterxml.jackson.databind.exc.MismatchedInputException m && e.getMessage() != null) {
            String missing = missingProperty(e.getOriginalMessage());
            if (missing != null && !path.endsWith("." + missing)) {
                path = path + "." + missing;
            }
        }
        if (e instanceof com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException u) {
            path = path.endsWith("." + u.getPropertyName()) ? path : path + "." + u.getPropertyName();
        }
        path = path.startsWith(".") ? path.substring(1) : path;
        return path.isEmpty() ? "the file" : "field '" + path + "'";
    }

    private static String missingProperty(String message) {
        var m = java.util.regex.Pattern.compile("Missing (?:required )?creator property '([^']+)'").matcher(String.valueOf(message));
        return m.find() ? m.group(1) : null;
    }

    /** The one-line reason: our constructor's message when it threw, else Jackson's first line. */
    private static String cause(JsonMappingException e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        if (t instanceof IllegalArgumentException) {
            return t.getMessage();
        }
        String m = firstLine(e.getOriginalMessage());
        if (e instanceof com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException) {
            return "unknown field; a tier has name, price_per_m_tokens, min_tokens_per_s_per_user and demand_tokens_per_s";
        }
        if (missingProperty(m) != null) {
            return "missing";
        }
        return m.toLowerCase(Locale.ROOT).startsWith("cannot deserialize") ? m.replaceFirst(" \\(.*", "") : m;
    }

    private static String firstLine(String s) {
        String line = s == null ? "" : s.lines().findFirst().orElse("");
        return line.length() > 200 ? line.substring(0, 200) + "..." : line;
    }
}
