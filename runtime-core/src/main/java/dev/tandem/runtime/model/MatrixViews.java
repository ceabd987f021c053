package dev.tandem.runtime.model;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.error.ModelFormatException;
import dev.tandem.runtime.error.SafeText;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * Makes {@link WeightMatrix} views over mapped bytes, checking sizes first so that a bad file is
 * reported as a {@link ModelFormatException} naming the tensor rather than as a kernels error.
 */
final class MatrixViews {
    private MatrixViews() {}

    static WeightMatrix view(Path file, String tensor, WeightFormat format, MemorySegment data, long rows, long cols) {
        if (rows <= 0 || cols <= 0 || rows > Integer.MAX_VALUE || cols > Integer.MAX_VALUE) {
            throw new ModelFormatException(file, "tensor " + SafeText.quote(tensor) + " has shape (" + rows + ", " + cols
                    + "), which a weight matrix cannot hold (each dimension must be 1.." + Integer.MAX_VALUE + ")");
        }
        if (cols % format.blockSize() != 0) {
            throw new ModelFormatException(file, "tensor " + SafeText.quote(tensor) + " has rows of " + cols + " elements, not a multiple of the "
                    + format + " block size " + format.blockSize());
        }
        long expected = format.bytesFor(rows * cols);
        if (data.byteSize() != expected) {
            throw new ModelFormatException(file, "tensor " + SafeText.quote(tensor) + " holds " + data.byteSize() + " bytes, but "
                    + format + " (" + rows + ", " + cols + ") needs " + expected);
        }
        try {
            return WeightMatrix.of(format, data, (int) rows, (int) cols);
        } catch (IllegalArgumentException e) {
            // The checks above mirror of()'s contract; this only fires if that contract grows.
            throw new ModelFormatException(file, "tensor " + SafeText.quote(tensor) + ": " + e.getMessage());
        }
    }
}
