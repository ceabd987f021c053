package dev.tandem.runtime.tokenizer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds special tokens ({@code <|begin_of_text|>}, {@code <|im_start|>}) spelled out verbatim in
 * input text, so chat templates can be written as text. At each position the longest special
 * token wins; the earliest position wins overall.
 */
final class SpecialTokenMatcher {
    /** A piece of input: either a special token's id, or plain text (id -1) for the pre-tokenizer. */
    record Segment(String text, int specialId) {
        boolean isSpecial() {
            return specialId >= 0;
        }
    }

    private record Special(String text, int id) {}

    /** Candidates by first char, longest first, so a scan costs a map lookup per character. */
    private final Map<Character, List<Special>> byFirstChar = new HashMap<>();

    SpecialTokenMatcher(Map<String, Integer> specials) {
        specials.forEach((text, id) -> {
            if (!text.isEmpty()) {
                byFirstChar.computeIfAbsent(text.charAt(0), c -> new ArrayList<>()).add(new Special(text, id));
            }
        });
        byFirstChar.values().forEach(list -> list.sort(Comparator.comparingInt((Special s) -> s.text.length()).reversed()));
    }

    List<Segment> split(String text) {
        List<Segment> segments = new ArrayList<>();
        int plainStart = 0;
        int i = 0;
        while (i < text.length()) {
            Special match = matchAt(text, i);
            if (match == null) {
                i++;
                continue;
            }
            if (i > plainStart) {
                segments.add(new Segment(text.substring(plainStart, i), -1));
            }
            segments.add(new Segment(match.text, match.id));
            i += match.text.length();
            plainStart = i;
        }
        if (plainStart < text.length()) {
            segments.add(new Segment(text.substring(plainStart), -1));
        }
        return segments;
    }

    private Special matchAt(String text, int i) {
        List<Special> candidates = byFirstChar.get(text.charAt(i));
        if (candidates != null) {
            for (Special s : candidates) {
                if (text.startsWith(s.text, i)) {
                    return s;
                }
            }
        }
        return null;
    }
}
