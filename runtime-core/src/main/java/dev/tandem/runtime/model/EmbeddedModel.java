package dev.tandem.runtime.model;

import dev.tandem.runtime.error.ModelFormatException;
import dev.tandem.runtime.format.GgufFile;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

/**
 * The default model every command uses when no file is given: a small Llama (dim 128, 4 layers,
 * 4 heads, 2 KV heads, hidden 384, context 256) trained on the King James Bible, with a
 * SentencePiece BPE vocabulary of 4096 pieces (byte fallback), in Q8_0, about 2 MB, shipped inside
 * this module as a GGUF resource. {@code tools/train-default-model} made it and records how
 * (seed, loss curve, samples) in {@code train-log.json} beside the script.
 *
 * <p>Q8_0 because every path runs it: the CPU, OpenCL and the LPU emulator (which refuse K-quants).
 */
public final class EmbeddedModel {
    /** The model's name (GGUF general.name), also the id {@code tandem serve} gives it. */
    public static final String NAME = "tandem-kjv";
    /** Where the GGUF is, relative to this class. */
    static final String RESOURCE = "tandem-kjv-q8_0.gguf";
    /** What errors and {@code Model.source()} call it: there is no file path. */
    public static final Path LABEL = Path.of("<embedded " + NAME + ">");
    /** GGUF tensor data is aligned to 32 bytes in the file; 64 keeps every view aligned in memory too. */
    private static final long ALIGNMENT = 64;

    private EmbeddedModel() {}

    /** Reads the resource into off-heap memory owned by the returned model. */
    static LoadedModel load() {
        byte[] bytes;
        try (InputStream in = EmbeddedModel.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new ModelFormatException(LABEL, "the resource " + RESOURCE + " is missing from the tandem-runtime-core jar");
            }
            bytes = in.readAllBytes();
        } catch (IOException e) {
            throw new ModelFormatException(LABEL, "cannot read the resource " + RESOURCE + ": " + e);
        }
        Arena arena = Arena.ofShared();
        MemorySegment image = arena.allocate(bytes.length, ALIGNMENT);
        MemorySegment.copy(bytes, 0, image, ValueLayout.JAVA_BYTE, 0, bytes.length);
        return GgufLlamaReader.load(GgufFile.read(LABEL, arena, image.asReadOnly()));
    }
}
