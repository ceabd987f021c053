package dev.tandem.runtime.format;

import dev.tandem.runtime.error.ModelFormatException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A llama2.c legacy (v0) checkpoint: seven int32 header values, then float32 weights in run.c's order.
 * The file is memory-mapped read-only; every section is a slice of the mapping (zero copy) valid until
 * {@link #close()}.
 *
 * <p>The file size must equal what the header implies. Extra trailing bytes are rejected rather than
 * ignored: run.c never reads them, so their presence means the header does not describe this file (a
 * different export version, or a corrupt header), and computing with such weights would be silently wrong.
 */
public final class Llama2cCheckpoint implements AutoCloseable {
    public static final int HEADER_BYTES = 7 * Integer.BYTES;
    /** "ak42": the magic of llama2.c's newer (v1/v2) exports, which are not the legacy format. */
    private static final int NEW_EXPORT_MAGIC = 0x616b3432;

    /** The header. vocabSize is positive here; {@code sharedClassifier} records the sign it had. */
    public record Header(int dim, int hiddenDim, int nLayers, int nHeads, int nKvHeads, int vocabSize,
                         int seqLen, boolean sharedClassifier) {
        public int headDim() { return dim / nHeads; }

        public int kvDim() { return dim / nHeads * nKvHeads; }
    }

    /**
     * One stored array of floats.
     *
     * @param name   run.c's field name; per-layer sections carry the layer, e.g. {@code wq[3]}
     * @param offset absolute byte offset in the file
     * @param rows   outer dimension (1 for vectors)
     * @param cols   inner, contiguous dimension
     */
    public record Section(String name, long offset, int rows, int cols, MemorySegment data) {
        public long byteSize() { return (long) rows * cols * Float.BYTES; }
    }

    private final Path path;
    private final Arena arena;
    private final MemorySegment mapping;
    private final Header header;
    private final Map<String, Section> sections;

    private Llama2cCheckpoint(Path path, Arena arena, MemorySegment mapping, Header header, Map<String, Section> sections) {
        this.path = path;
        this.arena = arena;
        this.mapping = mapping;
        this.header = header;
        this.sections = sections;
    }

    /** Maps and validates {@code path}; an unreadable or malformed file is a {@link ModelFormatException}. */
    public static Llama2cCheckpoint open(Path path) {
        return MappedFile.open(path, (arena, mapping) -> {
            Header header = readHeader(path, mapping);
            return new Llama2cCheckpoint(path, arena, mapping, header, layOut(path, mapping, header));
        });
    }

    private static Header readHeader(Path path, MemorySegment mapping) {
        ByteCursor in = new ByteCursor(mapping, path);
        in.require(HEADER_BYTES, "llama2.c header (7 int32 values)");
        int[] h = new int[7];
        for (int i = 0; i < 7; i++) {
            h[i] = in.i32("header");
        }
        if (h[0] == NEW_EXPORT_MAGIC) {
            throw new ModelFormatException(path, 0, "this is a llama2.c v1/v2 export (magic \"ak42\"); only the legacy v0 format is supported");
        }
        String[] names = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"};
        // Generous limits: well above any Llama released, low enough that sizes cannot overflow a long.
        long[] limits = {1 << 16, 1 << 20, 1 << 10, 1 << 12, 1 << 12, 1 << 24, 1 << 24};
        for (int i = 0; i < 7; i++) {
            long v = i == 5 ? Math.abs((long) h[i]) : h[i];
            if (v <= 0 || v > limits[i]) {
                throw new ModelFormatException(path, 4L * i, "header " + names[i] + " = " + h[i]
                        + " is not a plausible value (must be " + (i == 5 ? "non-zero with |value|" : "")
                        + " in 1.." + limits[i] + "): not a llama2.c checkpoint, or a corrupt header");
            }
        }
        int dim = h[0], nHeads = h[3], nKvHeads = h[4];
        if (dim % nHeads != 0) {
            throw new ModelFormatException(path, 12, "dim " + dim + " is not a multiple of n_heads " + nHeads);
        }
        if (nHeads % nKvHeads != 0) {
            throw new ModelFormatException(path, 16, "n_heads " + nHeads + " is not a multiple of n_kv_heads " + nKvHeads);
        }
        if ((dim / nHeads) % 2 != 0) {
            throw new ModelFormatException(path, 12, "head size " + dim / nHeads + " is odd; RoPE needs pairs");
        }
        return new Header(dim, h[1], h[2], nHeads, nKvHeads, Math.abs(h[5]), h[6], h[5] > 0);
    }

    /** Places every section in run.c's order and checks the file holds exactly them. */
    private static Map<String, Section> layOut(Path path, MemorySegment mapping, Header h) {
        List<long[]> shapes = new ArrayList<>();
        List<String> names = new ArrayList<>();
        int L = h.nLayers(), dim = h.dim(), hidden = h.hiddenDim(), kv = h.kvDim();
        add(names, shapes, "token_embedding", 1, h.vocabSize(), dim);
        add(names, shapes, "rms_att", L, 1, dim);
        add(names, shapes, "wq", L, dim, dim);
        add(names, shapes, "wk", L, kv, dim);
        add(names, shapes, "wv", L, kv, dim);
        add(names, shapes, "wo", L, dim, dim);
        add(names, shapes, "rms_ffn", L, 1, dim);
        add(names, shapes, "w1", L, hidden, dim);
        add(names, shapes, "w2", L, dim, hidden);
        add(names, shapes, "w3", L, hidden, dim);
        add(names, shapes, "rms_final", 1, 1, dim);
        add(names, shapes, "freq_cis_real", 1, h.seqLen(), h.headDim() / 2);
        add(names, shapes, "freq_cis_imag", 1, h.seqLen(), h.headDim() / 2);
        if (!h.sharedClassifier()) {
            add(names, shapes, "wcls", 1, h.vocabSize(), dim);
        }
        long expected = HEADER_BYTES;
        for (long[] s : shapes) {
            expected += s[0] * s[1] * s[2] * Float.BYTES; // bounded by the header limits: no overflow
        }
        long actual = mapping.byteSize();
        if (actual < expected) {
            throw new ModelFormatException(path, actual, "truncated: the header (dim " + dim + ", hidden " + hidden
                    + ", layers " + L + ", heads " + h.nHeads() + "/" + h.nKvHeads() + ", vocab " + h.vocabSize()
                    + ", seq_len " + h.seqLen() + ") implies " + expected + " bytes but the file has " + actual);
        }
        if (actual > expected) {
            throw new ModelFormatException(path, expected, "the header implies " + expected + " bytes but the file has "
                    + actual + " (" + (actual - expected) + " unexpected trailing bytes): the header does not describe this file");
        }
        Map<String, Section> sections = new LinkedHashMap<>();
        long offset = HEADER_BYTES;
        for (int i = 0; i < names.size(); i++) {
            long[] s = shapes.get(i);
            for (int layer = 0; layer < s[0]; layer++) {
                String name = s[0] == 1 && !isPerLayer(names.get(i)) ? names.get(i) : names.get(i) + "[" + layer + "]";
                long bytes = s[1] * s[2] * Float.BYTES;
                sections.put(name, new Section(name, offset, (int) s[1], (int) s[2], mapping.asSlice(offset, bytes)));
                offset += bytes;
            }
        }
        return Collections.unmodifiableMap(sections);
    }

    private static final List<String> PER_LAYER = List.of("rms_att", "wq", "wk", "wv", "wo", "rms_ffn", "w1", "w2", "w3");

    private static boolean isPerLayer(String name) { return PER_LAYER.contains(name); }

    private static void add(List<String> names, List<long[]> shapes, String name, long layers, long rows, long cols) {
        names.add(name);
        shapes.add(new long[] {layers, rows, cols});
    }

    public Path path() { return path; }

    public Header header() { return header; }

    /** The whole file, mapped read-only. */
    public MemorySegment mapping() { return mapping; }

    /** Every section in file order; per-layer ones are named like {@code wq[3]}. */
    public List<Section> sections() { return List.copyOf(sections.values()); }

    /** A whole-model section: token_embedding, rms_final, freq_cis_real, freq_cis_imag or wcls. */
    public Section section(String name) {
        Section s = sections.get(name);
        if (s == null) {
            throw new IllegalArgumentException("no section '" + name + "' in " + path);
        }
        return s;
    }

    /** A per-layer section: rms_att, wq, wk, wv, wo, rms_ffn, w1, w2 or w3. */
    public Section layer(String name, int layer) { return section(name + "[" + layer + "]"); }

    @Override
    public void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }
}
