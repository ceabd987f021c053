package dev.tandem.device.lpu;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Keeps the programs of a device's first decode step and writes them as a Chrome trace on close. */
final class TraceRecorder {
    private final Path path;
    private final List<StaticProgram> programs = new ArrayList<>();
    private boolean recording;

    /** @param path the trace file, or null to record nothing */
    TraceRecorder(Path path) {
        this.path = path;
    }

    /** A step of tokens tokens starts; it is recorded when it is the first decode step. */
    void startStep(int tokens, boolean anyDecodeBefore) {
        recording = path != null && tokens == 1 && programs.isEmpty() && !anyDecodeBefore;
    }

    void stopStep() { recording = false; }

    void add(StaticProgram p) {
        if (recording) {
            programs.add(p);
        }
    }

    void write() {
        if (path == null || programs.isEmpty()) {
            return;
        }
        try {
            ChromeTrace.write(programs, path);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the LPU trace " + path, e);
        }
    }
}
