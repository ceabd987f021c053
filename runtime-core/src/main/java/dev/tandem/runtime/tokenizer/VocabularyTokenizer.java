package dev.tandem.runtime.tokenizer;

/**
 * What both tokenizer kinds share: the pieces as the source spells them, which ones are control
 * tokens, the bytes each one prints, and BOS/EOS.
 */
abstract class VocabularyTokenizer implements Tokenizer {
    private final String[] pieces;
    private final boolean[] control;
    private final byte[][] output;
    private final int bos;
    private final int eos;

    VocabularyTokenizer(String[] pieces, boolean[] control, byte[][] output, int bos, int eos) {
        this.pieces = pieces;
        this.control = control;
        this.output = output;
        this.bos = bos;
        this.eos = eos;
    }

    /** The bytes {@code id} prints, not copied: callers must not modify them. */
    final byte[] output(int id) {
        checkId(id);
        return output[id];
    }

    @Override
    public final int vocabSize() {
        return pieces.length;
    }

    @Override
    public final int bos() {
        return bos;
    }

    @Override
    public final int eos() {
        return eos;
    }

    @Override
    public final String piece(int id) {
        checkId(id);
        return pieces[id];
    }

    @Override
    public final boolean isControl(int id) {
        checkId(id);
        return control[id];
    }

    final void checkId(int id) {
        if (id < 0 || id >= pieces.length) {
            throw new IllegalArgumentException("token id " + id + " outside vocabulary of " + pieces.length);
        }
    }
}
