package dev.tandem.runtime.tokenizer;

import dev.tandem.runtime.error.ModelFormatException;
import dev.tandem.runtime.error.SafeText;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * Byte-level BPE as in GPT-2, Llama 3 and Qwen (GGUF {@code tokenizer.ggml.model = gpt2}).
 *
 * <p>Encoding: special tokens spelled out in the text are taken verbatim; the rest is split into
 * words by the {@link PreTokenizer}; each word's UTF-8 bytes start as one token per byte, then the
 * adjacent pair with the lowest merge rank (its line in {@code tokenizer.ggml.merges}) is merged,
 * leftmost first on ties, until no listed merge applies.
 *
 * <p>Requirements on the vocabulary, checked when loading: every byte has its single-character
 * token, so any input encodes. A merge whose parts or result are not tokens cannot change the
 * output ids and is ignored.
 */
public final class ByteLevelBpeTokenizer extends VocabularyTokenizer {
    private final int[] byteTokens;
    private final Map<Long, PairMerger.Merge> mergesByPair;
    private final SpecialTokenMatcher specials;
    private final PreTokenizer preTokenizer;
    private final PairMerger.Rule mergeRule = this::mergeOf;

    private ByteLevelBpeTokenizer(String[] tokens, boolean[] control, byte[][] output, int[] byteTokens,
                                  Map<Long, PairMerger.Merge> mergesByPair, SpecialTokenMatcher specials,
                                  PreTokenizer preTokenizer, int bos, int eos) {
        super(tokens, control, output, bos, eos);
        this.byteTokens = byteTokens;
        this.mergesByPair = mergesByPair;
        this.specials = specials;
        this.preTokenizer = preTokenizer;
    }

    /**
     * @param tokens     {@code tokenizer.ggml.tokens}, in GPT-2's byte-to-character spelling
     * @param merges     {@code tokenizer.ggml.merges}, "left right", best first
     * @param tokenTypes {@code tokenizer.ggml.token_type}, or null; CONTROL and USER_DEFINED tokens are
     *                   matched verbatim in the input, CONTROL ones decode to nothing
     * @param bos        {@code tokenizer.ggml.bos_token_id}, or -1 (Qwen has none)
     * @param eos        {@code tokenizer.ggml.eos_token_id}, or -1
     * @param pre        {@code tokenizer.ggml.pre}, or null; see {@link PreTokenizer#forGgufPre}
     */
    public static ByteLevelBpeTokenizer fromGguf(Path file, String[] tokens, String[] merges, int[] tokenTypes,
                                                 int bos, int eos, String pre) {
        GgufVocabChecks.requireTokens(file, tokens);
        int n = tokens.length;
        if (merges == null) {
            throw new ModelFormatException(file, "tokenizer.ggml.merges is missing; byte-level BPE needs it");
        }
        GgufVocabChecks.requireTypes(file, tokenTypes, n);
        GgufVocabChecks.requireId(file, "tokenizer.ggml.bos_token_id", bos, n);
        GgufVocabChecks.requireId(file, "tokenizer.ggml.eos_token_id", eos, n);
        PreTokenizer preTokenizer = PreTokenizer.forGgufPre(pre).orElseThrow(() ->
                new ModelFormatException(file, "unsupported tokenizer.ggml.pre " + SafeText.quote(pre)));

        Map<String, Integer> ids = HashMap.newHashMap(n);
        Map<String, Integer> specialIds = new HashMap<>();
        boolean[] control = new boolean[n];
        byte[][] output = new byte[n][];
        for (int id = 0; id < n; id++) {
            ids.putIfAbsent(tokens[id], id);
            int type = tokenTypes != null ? tokenTypes[id] : GgufTokenType.NORMAL;
            control[id] = type == GgufTokenType.CONTROL || id == bos || id == eos;
            if (type == GgufTokenType.CONTROL || type == GgufTokenType.USER_DEFINED) {
                specialIds.putIfAbsent(tokens[id], id);
            }
            if (control[id]) {
                output[id] = new byte[0];
            } else if (type == GgufTokenType.USER_DEFINED) {
                output[id] = tokens[id].getBytes(StandardCharsets.UTF_8); // added text, not byte-mapped
            } else {
                output[id] = unmapBytes(tokens[id]);
            }
        }
        int[] byteTokens = new int[256];
        for (int b = 0; b < 256; b++) {
            Integer id = ids.get(String.valueOf(ByteUnicodeMapping.charOf(b)));
            if (id == null) {
                throw new ModelFormatException(file, String.format(
                        "tokenizer.ggml.tokens has no token for byte 0x%02X ('%c'), so some text could not be encoded",
                        b, ByteUnicodeMapping.charOf(b)));
            }
            byteTokens[b] = id;
        }
        return new ByteLevelBpeTokenizer(tokens.clone(), control, output, byteTokens, parseMerges(file, merges, ids),
                new SpecialTokenMatcher(specialIds), preTokenizer, bos, eos);
    }

    private static Map<Long, PairMerger.Merge> parseMerges(Path file, String[] merges, Map<String, Integer> ids) {
        Map<Long, PairMerger.Merge> byPair = HashMap.newHashMap(merges.length);
        for (int rank = 0; rank < merges.length; rank++) {
            String merge = merges[rank];
            // Search from index 1, as llama.cpp does: the separator is the first space after the first character.
            int space = merge == null ? -1 : merge.indexOf(' ', 1);
            if (space < 0) {
                throw new ModelFormatException(file, "tokenizer.ggml.merges[" + rank + "] = " + SafeText.quote(merge) + " is not 'left right'");
            }
            String left = merge.substring(0, space);
            String right = merge.substring(space + 1);
            Integer leftId = ids.get(left);
            Integer rightId = ids.get(right);
            Integer mergedId = ids.get(left + right);
            if (leftId != null && rightId != null && mergedId != null) {
                byPair.putIfAbsent(pair(leftId, rightId), new PairMerger.Merge(mergedId, -rank)); // lower rank first
            }
        }
        return byPair;
    }

    private static long pair(int left, int right) {
        return ((long) left << 32) | (right & 0xFFFFFFFFL);
    }

    /** A token's text back to bytes; characters outside GPT-2's mapping are kept as their UTF-8. */
    private static byte[] unmapBytes(String token) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(token.length());
        token.codePoints().forEach(cp -> {
            int b = ByteUnicodeMapping.byteOf(cp);
            if (b >= 0) {
                bytes.write(b);
            } else {
                bytes.writeBytes(Character.toString(cp).getBytes(StandardCharsets.UTF_8));
            }
        });
        return bytes.toByteArray();
    }

    @Override
    public int[] encode(String text, boolean addBos, boolean addEos) {
        IntList ids = new IntList();
        if (addBos && bos() >= 0) {
            ids.add(bos());
        }
        encodeText(text, ids);
        if (addEos && eos() >= 0) {
            ids.add(eos());
        }
        return ids.toArray();
    }

    /**
     * Well-formed UTF-8 runs are encoded as text; bytes that are not UTF-8 form their own words,
     * which byte-level BPE can spell since every byte has a token.
     */
    @Override
    public int[] encode(byte[] utf8, boolean addBos, boolean addEos) {
        IntList ids = new IntList();
        if (addBos && bos() >= 0) {
            ids.add(bos());
        }
        int i = 0;
        while (i < utf8.length) {
            int validEnd = i;
            int len;
            while (validEnd < utf8.length && (len = Utf8.validSequenceLength(utf8, validEnd, utf8.length)) > 0) {
                validEnd += len;
            }
            if (validEnd > i) {
                encodeText(new String(utf8, i, validEnd - i, StandardCharsets.UTF_8), ids);
            }
            int invalidEnd = validEnd;
            while (invalidEnd < utf8.length && Utf8.validSequenceLength(utf8, invalidEnd, utf8.length) == 0) {
                invalidEnd++;
            }
            if (invalidEnd > validEnd) {
                encodeWord(utf8, validEnd, invalidEnd, ids);
            }
            i = invalidEnd;
        }
        if (addEos && eos() >= 0) {
            ids.add(eos());
        }
        return ids.toArray();
    }

    private void encodeText(String text, IntList ids) {
        for (SpecialTokenMatcher.Segment segment : specials.split(text)) {
            if (segment.isSpecial()) {
                ids.add(segment.specialId());
                continue;
            }
            for (String word : preTokenizer.split(segment.text())) {
                byte[] bytes = word.getBytes(StandardCharsets.UTF_8);
                encodeWord(bytes, 0, bytes.length, ids);
            }
        }
    }

    private void encodeWord(byte[] bytes, int start, int end, IntList ids) {
        int[] symbols = new int[end - start];
        for (int i = start; i < end; i++) {
            symbols[i - start] = byteTokens[bytes[i] & 0xFF];
        }
        ids.addAll(PairMerger.merge(symbols, mergeRule));
    }

    private PairMerger.Merge mergeOf(int left, int right) {
        return mergesByPair.get(pair(left, right));
    }

    @Override
    public byte[] decodePiece(int prevToken, int token) {
        return output(token).clone();
    }

    public PreTokenizer preTokenizer() {
        return preTokenizer;
    }
}
