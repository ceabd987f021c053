package dev.tandem.runtime.format;

import dev.tandem.runtime.error.ModelFormatException;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Maps a model file read-only into a new shared arena and hands both to a reader. */
final class MappedFile {
    private MappedFile() {}

    /** Builds what a reader makes of the mapping; the reader owns the arena from then on. */
    interface Reader<T> {
        T read(Arena arena, MemorySegment mapping);
    }

    /**
     * Maps path (zero copy) and runs reader on it. An unreadable file becomes a
     * {@link ModelFormatException}; if reading fails, the arena is closed, so nothing stays mapped.
     */
    static <T> T open(Path path, Reader<T> reader) {
        Arena arena = Arena.ofShared();
        try {
            MemorySegment mapping;
            try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
                mapping = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
            }
            return reader.read(arena, mapping);
        } catch (IOException e) {
            arena.close();
            throw new ModelFormatException(path, "cannot read the file: " + e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }
}
