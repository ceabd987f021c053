package dev.tandem.runtime.tokenizer;

import dev.tandem.runtime.error.ModelFormatException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * SentencePiece-style BPE with scores and byte fallback, with the encode and decode behaviour of
 * llama2.c's run.c (Llama 1/2, TinyStories).
 *
 * <p>Encoding: optional BOS; a dummy-prefix piece {@code " "} when the text is non-empty; each
 * UTF-8 character (a byte plus up to three continuation bytes) looked up as a piece, falling back
 * to one byte token per byte; then repeatedly merge the adjacent pair whose concatenation is the
 * highest-scoring piece (leftmost on ties); optional EOS.
 *
 * <p>The two sources spell spaces differently. llama2.c's {@code tokenizer.bin} stores pieces
 * with the SentencePiece meta symbol U+2581 '▁' already replaced by ' ', so its pieces are the
 * output bytes. GGUF {@code tokenizer.ggml.tokens} keeps '▁'; {@link #fromGguf} replaces it with
 * ' ' so both sources run the same algorithm on the same bytes. {@link #piece} returns the
 * source's spelling.
 *
 * <p>Pieces are bytes, and input may be raw bytes that are not UTF-8, so pieces are looked up by
 * their bytes: the key is the ISO-8859-1 String of the bytes (one char per byte, and a
 * concatenation of keys is the key of the concatenated bytes).
 */
public final class SentencePieceTokenizer extends VocabularyTokenizer {
    // llama2.c hard-codes these.
    private static final int LLAMA2C_BOS = 1;
    private static final int LLAMA2C_EOS = 2;
    private static final int LLAMA2C_BYTE_TOKEN_OFFSET = 3;
    /** llama2.c starts its best-score search at -1e10 with '>', so pairs scoring at or below never merge. */
    private static final float MIN_MERGE_SCORE = -1e10f;
    private static final char SPACE_META_SYMBOL = '\u2581';

    private final String[] keys;
    private final float[] scores;
    /** Pieces that input text may turn into; control and byte pieces are left out for GGUF. */
    private final Map<String, Integer> textPieceIds;
    private final int[] byteTokens;
    private final boolean addDummyPrefix;
    /**
     * The id text maps to when the vocabulary has no piece for it, or -1 when every byte has a piece
     * (byte fallback: no text becomes the unknown piece, even where the vocabulary lists one).
     */
    private final int unknown;
    private final PairMerger.Rule mergeRule = this::mergeOf;

    private SentencePieceTokenizer(String[] pieces, byte[][] text, byte[][] output, float[] scores,
                                   boolean[] control, boolean[] matchable, int[] byteTokens,
                                   int bos, int eos, boolean addDummyPrefix, int unknown) {
        super(pieces, control, output, bos, eos);
        this.unknown = unknown;
        this.scores = scores;
        this.byteTokens = byteTokens;
        this.addDummyPrefix = addDummyPrefix;
        this.keys = new String[text.length];
        this.textPieceIds = HashMap.newHashMap(text.length);
        for (int id = 0; id < text.length; id++) {
            keys[id] = key(text[id]);
            if (matchable[id]) {
                textPieceIds.putIfAbsent(keys[id], id); // duplicates: the lowest id wins
            }
        }
    }

    /** Reads llama2.c's tokenizer.bin, taking every piece up to EOF. */
    public static SentencePieceTokenizer fromLlama2cFile(Path tokenizerBin) throws IOException {
        return fromLlama2c(Llama2cVocabFile.read(tokenizerBin, -1));
    }

    /** Reads the first {@code vocabSize} pieces of llama2.c's tokenizer.bin, as run.c does with the model's vocab size. */
    public static SentencePieceTokenizer fromLlama2cFile(Path tokenizerBin, int vocabSize) throws IOException {
        if (vocabSize <= 0) {
            throw new IllegalArgumentException("vocabSize must be positive: " + vocabSize);
        }
        return fromLlama2c(Llama2cVocabFile.read(tokenizerBin, vocabSize));
    }

    private static SentencePieceTokenizer fromLlama2c(Llama2cVocabFile.Contents vocab) {
        byte[][] text = vocab.pieces();
        int n = text.length;
        String[] pieces = new String[n];
        byte[][] output = new byte[n][];
        boolean[] control = new boolean[n];
        boolean[] matchable = new boolean[n];
        for (int id = 0; id < n; id++) {
            pieces[id] = new String(text[id], StandardCharsets.UTF_8);
            int b = bytePieceValue(pieces[id]);
            output[id] = b >= 0 ? new byte[] {(byte) b} : text[id];
            matchable[id] = true; // run.c looks up every piece
        }
        int bos = LLAMA2C_BOS < n ? LLAMA2C_BOS : -1;
        int eos = LLAMA2C_EOS < n ? LLAMA2C_EOS : -1;
        if (bos >= 0) control[bos] = true;
        if (eos >= 0) control[eos] = true;
        int[] byteTokens = new int[256];
        for (int b = 0; b < 256; b++) {
            int id = b + LLAMA2C_BYTE_TOKEN_OFFSET;
            byteTokens[b] = id < n ? id : 0; // a vocabulary too small for byte pieces: <unk>, id 0
        }
        int unknown = LLAMA2C_BYTE_TOKEN_OFFSET + 255 < n ? -1 : 0;
        return new SentencePieceTokenizer(pieces, text, output, vocab.scores(), control, matchable,
                byteTokens, bos, eos, true, unknown);
    }

    /** GGUF {@code tokenizer.ggml.model = llama}, with the usual dummy prefix. See {@link #fromGguf(Path, String[], float[], int[], int, int, boolean)}. */
    public static SentencePieceTokenizer fromGguf(Path file, String[] tokens, float[] scores, int[] tokenTypes,
                                                  int bos, int eos) {
        return fromGguf(file, tokens, scores, tokenTypes, bos, eos, true);
    }

    /**
     * GGUF {@code tokenizer.ggml.model = llama}.
     *
     * @param scores         {@code tokenizer.ggml.scores}; null means all 0, as llama.cpp allows
     * @param tokenTypes     {@code tokenizer.ggml.token_type} ({@link GgufTokenType}), or null: then
     *                       byte pieces are recognised by their {@code <0xXX>} name. BOS and EOS
     *                       are control tokens either way
     * @param bos            BOS id, or -1
     * @param eos            EOS id, or -1
     * @param addDummyPrefix {@code tokenizer.ggml.add_space_prefix}, true unless the file says otherwise
     */
    public static SentencePieceTokenizer fromGguf(Path file, String[] tokens, float[] scores, int[] tokenTypes,
                                                  int bos, int eos, boolean addDummyPrefix) {
        GgufVocabChecks.requireTokens(file, tokens);
        int n = tokens.length;
        if (scores == null) {
            scores = new float[n];
        } else if (scores.length != n) {
            throw new ModelFormatException(file, "tokenizer.ggml.scores has " + scores.length + " entries for " + n + " tokens");
        }
        GgufVocabChecks.requireTypes(file, tokenTypes, n);
        GgufVocabChecks.requireId(file, "tokenizer.ggml.bos_token_id", bos, n);
        GgufVocabChecks.requireId(file, "tokenizer.ggml.eos_token_id", eos, n);

        byte[][] text = new byte[n][];
        byte[][] output = new byte[n][];
        boolean[] control = new boolean[n];
        boolean[] matchable = new boolean[n];
        int[] byteTokens = new int[256];
        Arrays.fill(byteTokens, -1);
        int unknown = -1;
        for (int id = 0; id < n; id++) {
            int type = tokenTypes != null ? tokenTypes[id] : GgufTokenType.NORMAL;
            int byteValue = bytePieceValue(tokens[id]);
            boolean isByte = tokenTypes != null ? type == GgufTokenType.BYTE && byteValue >= 0 : byteValue >= 0;
            // BOS and EOS are control tokens even where a file types them otherwise (placeholder vocabularies say UNKNOWN).
            control[id] = type == GgufTokenType.CONTROL || id == bos || id == eos;
            if (type == GgufTokenType.UNKNOWN && unknown < 0) {
                unknown = id;
            }
            text[id] = tokens[id].replace(SPACE_META_SYMBOL, ' ').getBytes(StandardCharsets.UTF_8);
            if (isByte) {
                output[id] = new byte[] {(byte) byteValue};
                if (byteTokens[byteValue] < 0) byteTokens[byteValue] = id;
            } else {
                output[id] = control[id] ? new byte[0] : text[id];
            }
            // Ordinary text must not merge into a control, byte or unknown piece: "<s>" typed by a user stays text.
            matchable[id] = !isByte && !control[id] && type != GgufTokenType.UNKNOWN && type != GgufTokenType.UNUSED;
        }
        if (unknown < 0) {
            unknown = 0;
        }
        boolean bytesMissing = false;
        for (int b = 0; b < 256; b++) {
            if (byteTokens[b] < 0) {
                byteTokens[b] = unknown; // vocabularies without byte fallback
                bytesMissing = true;
            }
        }
        return new SentencePieceTokenizer(tokens.clone(), text, output, scores.clone(), control, matchable,
                byteTokens, bos, eos, addDummyPrefix, bytesMissing ? unknown : -1);
    }

    @Override
    public int unknown() { return unknown; }

    @Override
    public int[] encode(String text, boolean bos, boolean eos) {
        return encode(text.getBytes(StandardCharsets.UTF_8), bos, eos);
    }

    @Override
    public int[] encode(byte[] utf8, boolean addBos, boolean addEos) {
        IntList ids = new IntList();
        if (addBos && bos() >= 0) {
            ids.add(bos());
        }
        IntList symbols = new IntList();
        if (addDummyPrefix && utf8.length > 0) {
            appendCharacter(symbols, new byte[] {' '}, 0, 1);
        }
        int i = 0;
        while (i < utf8.length) {
            // run.c's grouping: a byte plus the continuation bytes after it, at most 4 in all.
            int end = i + 1;
            while (end < utf8.length && end - i < 4 && Utf8.isContinuation(utf8[end])) {
                end++;
            }
            appendCharacter(symbols, utf8, i, end);
            i = end;
        }
        // run.c also offers BOS to the merge loop, but BOS followed by text is never a piece, so
        // BOS is kept out here: a vocabulary where it merged would be broken anyway.
        ids.addAll(PairMerger.merge(symbols.toArray(), mergeRule));
        if (addEos && eos() >= 0) {
            ids.add(eos());
        }
        return ids.toArray();
    }

    private void appendCharacter(IntList symbols, byte[] bytes, int start, int end) {
        Integer id = textPieceIds.get(new String(bytes, start, end - start, StandardCharsets.ISO_8859_1));
        if (id != null) {
            symbols.add(id);
            return;
        }
        for (int k = start; k < end; k++) {
            symbols.add(byteTokens[bytes[k] & 0xFF]);
        }
    }

    private PairMerger.Merge mergeOf(int left, int right) {
        Integer id = textPieceIds.get(keys[left].concat(keys[right]));
        if (id == null || !(scores[id] > MIN_MERGE_SCORE)) {
            return null;
        }
        return new PairMerger.Merge(id, scores[id]);
    }

    @Override
    public byte[] decodePiece(int prevToken, int token) {
        byte[] bytes = output(token);
        // SentencePiece's dummy prefix put a space before the first word; printing it would add one.
        if (addDummyPrefix && prevToken == bos() && prevToken >= 0 && bytes.length > 0 && bytes[0] == ' ') {
            return Arrays.copyOfRange(bytes, 1, bytes.length);
        }
        return bytes.clone();
    }

    /** The score that ranks merges into this piece. */
    public float score(int id) {
        checkId(id);
        return scores[id];
    }

    /** The byte a {@code <0xXX>} piece stands for, or -1 when the piece is not one. */
    static int bytePieceValue(String piece) {
        if (piece.length() != 6 || !piece.startsWith("<0x") || piece.charAt(5) != '>') {
            return -1;
        }
        int hi = Character.digit(piece.charAt(3), 16);
        int lo = Character.digit(piece.charAt(4), 16);
        return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
    }

    private static String key(byte[] bytes) {
        return new String(bytes, StandardCharsets.ISO_8859_1);
    }
}
