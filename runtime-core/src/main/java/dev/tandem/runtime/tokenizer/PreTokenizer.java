package dev.tandem.runtime.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The regex that splits text into words before byte-level BPE runs on each word, chosen by GGUF
 * {@code tokenizer.ggml.pre}. Merges never cross these boundaries.
 *
 * <p>The patterns are the ones the models were trained with (Python {@code regex} / Rust
 * {@code onig} syntax), which java.util.regex reads the same way given
 * {@link Pattern#UNICODE_CHARACTER_CLASS}: without it Java's {@code \s} is ASCII-only, while the
 * originals treat every Unicode space (U+00A0, U+3000, ...) as whitespace.
 */
public enum PreTokenizer {
    /** GPT-2's pattern: contractions, then optional space + letters / digits / other, then spaces. */
    GPT2("'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"),
    /** Llama 3: case-insensitive contractions, digits in groups of at most three, newlines kept apart. */
    LLAMA3("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"),
    /** Qwen 2: as Llama 3 but every digit on its own. */
    QWEN2("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+");

    private final Pattern pattern;

    PreTokenizer(String regex) {
        this.pattern = Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS);
    }

    /**
     * The pre-tokenizer for a {@code tokenizer.ggml.pre} value: null, "default" or "gpt2" give
     * GPT-2's; "llama3", "llama-v3", "llama-bpe" give Llama 3's; "qwen2" gives Qwen 2's. Other
     * values are empty: guessing would silently produce ids the model was not trained on.
     */
    public static Optional<PreTokenizer> forGgufPre(String pre) {
        if (pre == null) {
            return Optional.of(GPT2);
        }
        return switch (pre.toLowerCase(Locale.ROOT)) {
            case "default", "gpt2", "gpt-2" -> Optional.of(GPT2);
            case "llama3", "llama-v3", "llama-bpe" -> Optional.of(LLAMA3);
            case "qwen2" -> Optional.of(QWEN2);
            default -> Optional.empty();
        };
    }

    /** The words of {@code text}, in order; together they are all of {@code text}. */
    public List<String> split(String text) {
        List<String> words = new ArrayList<>();
        Matcher m = pattern.matcher(text);
        int covered = 0;
        while (m.find()) {
            if (m.start() > covered) {
                words.add(text.substring(covered, m.start())); // not reachable with these patterns; keeps no byte lost
            }
            words.add(m.group());
            covered = m.end();
        }
        if (covered < text.length()) {
            words.add(text.substring(covered));
        }
        return words;
    }
}
