package dev.tandem.runtime.model;

import dev.tandem.runtime.error.ModelFormatException;
import dev.tandem.runtime.format.GgufFile;
import dev.tandem.runtime.format.Llama2cCheckpoint;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Loads a Llama model from a GGUF file or a llama2.c legacy checkpoint, told apart by the GGUF magic. */
public final class ModelLoader {
    private ModelLoader() {}

    /** Maps {@code path} and builds its config and weights; any malformed input is a {@link ModelFormatException}. */
    public static LoadedModel load(Path path) {
        long size;
        int magic;
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            size = channel.size();
            ByteBuffer head = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
            while (head.hasRemaining()) {
                if (channel.read(head) < 0) {
                    break; // shorter than 4 bytes
                }
            }
            magic = head.position() == 4 ? head.getInt(0) : 0;
        } catch (IOException e) {
            throw new ModelFormatException(path, "cannot read the file: " + e);
        }
        if (magic == GgufFile.MAGIC) {
            return GgufLlamaReader.load(GgufFile.open(path));
        }
        if (size < Llama2cCheckpoint.HEADER_BYTES) {
            throw new ModelFormatException(path, 0, "the file has " + size + " bytes: too short for a GGUF file (magic \"GGUF\") or a llama2.c checkpoint ("
                    + Llama2cCheckpoint.HEADER_BYTES + "-byte header)");
        }
        return Llama2cReader.load(Llama2cCheckpoint.open(path));
    }

    /** The embedded default model ({@link EmbeddedModel}), read from this module's resources. */
    public static LoadedModel loadEmbedded() {
        return EmbeddedModel.load();
    }
}
