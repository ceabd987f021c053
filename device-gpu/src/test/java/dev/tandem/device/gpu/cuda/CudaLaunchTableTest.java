package dev.tandem.device.gpu.cuda;

import dev.tandem.kernels.WeightFormat;
import jcuda.driver.CUdeviceptr;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Without a GPU: every launch the backend can make agrees with the PTX it will load. The PTX's
 * .entry signatures are parsed and compared with CudaKernel's declared parameter kinds, every op of
 * CudaLaunches is run against a recorder that applies the launch-time kind check, and tandem.cu's
 * geometry constants are compared with Java's. A misspelled kernel, a missing, extra or reordered
 * argument, or a block size that does not match the kernel's indexing fails here, not on the device.
 */
class CudaLaunchTableTest {
    /** tandem.cu from the device-gpu module (Maven's working directory) or the repository root (a console launcher's). */
    private static final Path SOURCE = Stream.of("../kernels/src/main/cuda/tandem.cu", "kernels/src/main/cuda/tandem.cu")
            .map(Path::of).filter(Files::isRegularFile).findFirst().orElse(Path.of("kernels/src/main/cuda/tandem.cu"));

    /** entry name -> PTX parameter types in order, from every ".visible .entry name(...)" of the PTX. */
    static Map<String, List<String>> ptxEntries(String ptx) {
        Map<String, List<String>> entries = new LinkedHashMap<>();
        Matcher entry = Pattern.compile("\\.entry\\s+(\\w+)\\s*\\(([^)]*)\\)").matcher(ptx);
        while (entry.find()) {
            List<String> types = new ArrayList<>();
            Matcher param = Pattern.compile("\\.param\\s+(\\.\\w+)\\s+\\w+").matcher(entry.group(2));
            while (param.find()) types.add(param.group(1));
            entries.put(entry.group(1), types);
        }
        return entries;
    }

    @Test
    void everyKernelHasAnEntryWithTheDeclaredParameters() {
        Map<String, List<String>> entries = ptxEntries(CudaKernels.ptx());
        assertTrue(entries.size() >= CudaKernel.values().length, "PTX entries: " + entries.keySet());
        for (CudaKernel kernel : CudaKernel.values()) {
            List<String> types = entries.get(kernel.entry);
            assertNotNull(types, "tandem.ptx has no .entry " + kernel.entry + " (it has " + entries.keySet() + ")");
            List<String> declared = kernel.args.stream().map(a -> a.ptxType).toList();
            assertEquals(declared, types, kernel.entry + ": Java's parameter kinds against the PTX signature");
        }
        Set<String> declaredNames = new java.util.HashSet<>();
        for (CudaKernel kernel : CudaKernel.values()) declaredNames.add(kernel.entry);
        assertEquals(declaredNames, entries.keySet(), "every PTX entry is one CudaKernel launches, and only those");
    }

    @Test
    void theSourcesGeometryIsJavas() throws IOException {
        String cu = Files.readString(SOURCE);
        assertEquals(CudaKernel.BATCH_TILE, define(cu, "TB"));
        assertEquals(CudaKernel.MATMUL_ROWS_PER_BLOCK, define(cu, "MATMUL_WARPS"));
        assertEquals(CudaKernel.MAX_HEAD_DIM, define(cu, "MAX_HEAD_DIM"));
        assertEquals(CudaKernel.ATTENTION.threads, define(cu, "ATTENTION_THREADS"));
        assertEquals(CudaKernel.ATTENTION_PAGED.threads, define(cu, "ATTENTION_THREADS"));
        assertTrue(cu.contains("blockIdx.x * 32 + threadIdx.x / 8"), "the integer-dot matmul's row indexing changed");
        for (CudaKernel kernel : EnumSet.range(CudaKernel.MATMUL_F32, CudaKernel.MATMUL_Q4_0)) {
            assertEquals(define(cu, "MATMUL_WARPS") * 32, kernel.threads, kernel.entry + ": one warp per row");
        }
        assertEquals(CudaKernel.MATMUL_I8_ROWS_PER_BLOCK * 8, CudaKernel.MATMUL_Q8_0_I8.threads);
        assertEquals(CudaKernel.MATMUL_I8_ROWS_PER_BLOCK * 8, CudaKernel.MATMUL_Q4_0_I8.threads);
        // Kernels with __launch_bounds__ must be launched with at most that many threads.
        Matcher bounds = Pattern.compile("__launch_bounds__\\((\\w+)\\)\\s+(\\w+)\\(").matcher(cu.replace("\\\n", " "));
        int checked = 0;
        while (bounds.find()) {
            int limit = bounds.group(1).matches("\\d+") ? Integer.parseInt(bounds.group(1)) : define(cu, bounds.group(1));
            for (CudaKernel kernel : CudaKernel.values()) {
                if (kernel.entry.equals(bounds.group(2))) {
                    assertTrue(kernel.threads <= limit, kernel.entry + " launched with " + kernel.threads + " > " + limit);
                    checked++;
                }
            }
        }
        assertTrue(checked >= 3, "found " + checked + " kernels with __launch_bounds__");
    }

    private static int define(String cu, String name) {
        Matcher m = Pattern.compile("#define\\s+" + name + "\\s+(\\d+)").matcher(cu);
        assertTrue(m.find(), "tandem.cu defines no " + name);
        return Integer.parseInt(m.group(1));
    }

    record Launch(CudaKernel kernel, int gridX, int gridY) {}

    @Test
    void everyOpLaunchesItsKernelWithArgumentsOfTheDeclaredKinds() {
        List<Launch> launches = new ArrayList<>();
        CudaLaunches ops = new CudaLaunches((kernel, gridX, gridY, args) -> {
            CudaKernels.parameters(kernel, args);  // the launch-time check: throws on a wrong count or kind
            launches.add(new Launch(kernel, gridX, gridY));
        }, 8);
        CUdeviceptr p = new CUdeviceptr();
        for (WeightFormat format : CudaKernels.SUPPORTED_FORMATS) {
            ops.matmul(format, p, p, p, 4097, 4096, 5);
            assertEquals(new Launch(launches.getLast().kernel(), 513, 2), launches.getLast(), format + " matmul grid");
            ops.embed(format, p, p, p, 4096, 3);
            assertEquals(new Launch(launches.getLast().kernel(), 3, 16), launches.getLast(), format + " embed grid");
        }
        for (WeightFormat format : CudaKernels.INTEGER_DOT_FORMATS) {
            ops.matmulInt(format, p, p, p, p, 4097, 4096, 1);
            assertEquals(new Launch(launches.getLast().kernel(), 129, 1), launches.getLast(), format + " integer matmul grid");
        }
        ops.quantizeQ8(p, p, p, 1000);
        assertEquals(new Launch(CudaKernel.QUANTIZE_Q8, 4, 1), launches.getLast());
        ops.rmsnorm(p, p, p, 4096, 7, 1e-5f);
        assertEquals(new Launch(CudaKernel.RMSNORM, 7, 1), launches.getLast());
        ops.rope(p, p, 32, 128, 5, 3);
        assertEquals(new Launch(CudaKernel.ROPE, 3, 16), launches.getLast());
        ops.attention(p, p, p, p, p, 17, 2, 32, 8, 128);
        assertEquals(new Launch(CudaKernel.ATTENTION, 32, 2), launches.getLast());
        ops.attentionPaged(p, p, p, p, p, p, p, 4, 16, 6, 32, 8, 128, 60);
        assertEquals(new Launch(CudaKernel.ATTENTION_PAGED, 32, 6), launches.getLast());
        ops.siluMul(p, p, 1001);
        assertEquals(new Launch(CudaKernel.SILU_MUL, 4, 1), launches.getLast());
        ops.add(p, p, 256);
        assertEquals(new Launch(CudaKernel.ADD, 1, 1), launches.getLast());

        Set<CudaKernel> launched = EnumSet.noneOf(CudaKernel.class);
        for (Launch launch : launches) launched.add(launch.kernel());
        assertEquals(EnumSet.allOf(CudaKernel.class), launched, "every kernel is reachable from an op");
    }

    @Test
    void aLaunchOfTheWrongShapeIsRefusedBeforeTheDriver() {
        CUdeviceptr p = new CUdeviceptr();
        var wrongKind = assertThrows(IllegalArgumentException.class,
                () -> CudaKernels.parameters(CudaKernel.MATMUL_F32, p, p, p, 1, 2L, 3));
        assertTrue(wrongKind.getMessage().contains("matmul_f32 argument 4 must be I32, got Long"), wrongKind.getMessage());
        var wrongCount = assertThrows(IllegalArgumentException.class, () -> CudaKernels.parameters(CudaKernel.ADD, p, p));
        assertTrue(wrongCount.getMessage().contains("add takes 3 arguments, got 2"), wrongCount.getMessage());
        var floatForInt = assertThrows(IllegalArgumentException.class,
                () -> CudaKernels.parameters(CudaKernel.RMSNORM, p, p, p, 4096, 1e-5, 8));
        assertTrue(floatForInt.getMessage().contains("rmsnorm argument 4 must be F32, got Double"), floatForInt.getMessage());
        assertNotNull(CudaKernels.parameters(CudaKernel.RMSNORM, p, p, p, 4096, 1e-5f, 8));
    }

    @Test
    void gridsPastTheDriversLimitAreRefusedWithTheirSize() {
        CudaLaunches ops = new CudaLaunches((kernel, gridX, gridY, args) -> {}, 8);
        CUdeviceptr p = new CUdeviceptr();
        var e = assertThrows(IllegalArgumentException.class, () -> ops.attention(p, p, p, p, p, 0, 70_000, 8, 8, 64));
        assertTrue(e.getMessage().contains("70000") && e.getMessage().contains("65535"), e.getMessage());
    }

    @Test
    void thePtxPropertyReplacesTheResource(@TempDir Path dir) throws IOException {
        Path ptx = Files.writeString(dir.resolve("fresh.ptx"), "// fresh PTX\n");
        String old = System.getProperty(CudaKernels.PTX_PROPERTY);
        System.setProperty(CudaKernels.PTX_PROPERTY, ptx.toString());
        try {
            assertEquals("// fresh PTX\n", CudaKernels.ptx());
            System.setProperty(CudaKernels.PTX_PROPERTY, dir.resolve("missing.ptx").toString());
            var e = assertThrows(java.io.UncheckedIOException.class, CudaKernels::ptx);
            assertTrue(e.getMessage().contains("missing.ptx"), e.getMessage());
        } finally {
            if (old == null) System.clearProperty(CudaKernels.PTX_PROPERTY);
            else System.setProperty(CudaKernels.PTX_PROPERTY, old);
        }
    }
}
