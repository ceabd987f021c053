package dev.tandem.conformance;

import dev.tandem.runtime.tokenizer.Tokenizer;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Whether generated text reads as its model's corpus, without knowing the text: it is words (letters
 * with trailing punctuation), most of them whole words of the model's vocabulary (SentencePiece keeps
 * a piece "▁word" for a corpus's common words), and it does not go round in a loop (most word
 * trigrams are new). Random weights fail the first two; greedy decoding of a small model, which
 * repeats "and the LORD, and the LORD, ...", fails the third.
 */
public final class CorpusText {
    private CorpusText() {}

    /** Least share of words made of letters. */
    public static final double MIN_ALPHABETIC = 0.8;
    /** Least share of words that are whole pieces of the vocabulary. */
    public static final double MIN_VOCABULARY_WORDS = 0.7;
    /**
     * Least share of distinct word trigrams among all of them. A loop keeps it under a half (greedy
     * "and the LORD, ..." is 0.4 over 24 tokens and falls as it goes on); this small model's sampled
     * text repeats a phrase now and then ("of the tabernacle") and stays above 0.7.
     */
    public static final double MIN_DISTINCT_TRIGRAMS = 0.6;

    /** Why text does not read as the corpus, or null when it does. */
    public static String problem(String text, Tokenizer vocabulary, int minWords) {
        String[] words = text.strip().split("\\s+");
        if (words.length < minWords) {
            return words.length + " words, fewer than " + minWords;
        }
        long alphabetic = Arrays.stream(words).filter(w -> w.matches("\\p{Alpha}+[,.;:!?']?")).count();
        if (alphabetic < MIN_ALPHABETIC * words.length) {
            return alphabetic + " of " + words.length + " words are letters";
        }
        Set<String> pieces = new HashSet<>();
        for (int id = 0; id < vocabulary.vocabSize(); id++) {
            pieces.add(vocabulary.piece(id));
        }
        long known = Arrays.stream(words).map(w -> w.replaceAll("\\P{Alpha}", ""))
                .filter(w -> !w.isEmpty() && (pieces.contains("▁" + w) || pieces.contains("▁" + w.toLowerCase()))).count();
        if (known < MIN_VOCABULARY_WORDS * words.length) {
            return known + " of " + words.length + " words are whole words of the vocabulary";
        }
        List<String> trigrams = new java.util.ArrayList<>();
        for (int i = 0; i + 2 < words.length; i++) {
            trigrams.add(words[i] + " " + words[i + 1] + " " + words[i + 2]);
        }
        long distinct = trigrams.stream().distinct().count();
        if (distinct < MIN_DISTINCT_TRIGRAMS * trigrams.size()) {
            return "it loops: " + distinct + " distinct word trigrams of " + trigrams.size();
        }
        return null;
    }
}
