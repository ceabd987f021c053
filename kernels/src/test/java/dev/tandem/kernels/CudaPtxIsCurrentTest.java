package dev.tandem.kernels;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The committed PTX (a resource, so builds without nvcc have the CUDA kernels) was compiled from the
 * tandem.cu in this tree: tools/cuda-ptx writes the source's sha256 into its first line.
 */
class CudaPtxIsCurrentTest {
    static final String PTX_RESOURCE = "/dev/tandem/kernels/cuda/tandem.ptx";
    static final Path SOURCE = Path.of("src/main/cuda/tandem.cu");

    @Test
    void ptxWasCompiledFromTheCurrentSource() throws IOException, NoSuchAlgorithmException {
        assertTrue(Files.isRegularFile(SOURCE), SOURCE.toAbsolutePath() + " is missing (the test runs in the kernels module)");
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(SOURCE)));
        String firstLine;
        try (InputStream in = WeightFormat.class.getResourceAsStream(PTX_RESOURCE)) {
            assertNotNull(in, PTX_RESOURCE + " is missing: run tools/cuda-ptx");
            String ptx = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
            firstLine = ptx.substring(0, Math.max(0, ptx.indexOf('\n')));
            assertTrue(ptx.contains(".entry matmul_f32("), "the PTX holds no matmul_f32 entry: run tools/cuda-ptx");
        }
        assertEquals("// tandem.cu sha256 " + sha, firstLine,
                "kernels/src/main/cuda/tandem.cu changed since its PTX was compiled: run tools/cuda-ptx and commit"
                        + " kernels/src/main/resources/dev/tandem/kernels/cuda/tandem.ptx");
    }
}
