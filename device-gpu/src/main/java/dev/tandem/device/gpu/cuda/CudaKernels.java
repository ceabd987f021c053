package dev.tandem.device.gpu.cuda;

import dev.tandem.kernels.WeightFormat;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

import static dev.tandem.device.gpu.cuda.CudaException.check;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadDataEx;
import static jcuda.driver.JCudaDriver.cuModuleUnload;

/**
 * tandem.ptx loaded into the device's context (the driver JITs it for the GPU) and one CUfunction
 * per {@link CudaKernel}. Every launch is checked against the kernel's declared parameter kinds
 * before the driver sees it; {@link CudaLaunches} computes each op's grid and arguments.
 */
final class CudaKernels implements CudaLaunches.Launcher, AutoCloseable {
    /** The PTX ships as a resource of the kernels module, compiled from src/main/cuda/tandem.cu by tools/cuda-ptx. */
    static final String PTX_RESOURCE = "/dev/tandem/kernels/cuda/tandem.ptx";
    /** -Dtandem.cuda.ptx=/path loads that PTX instead of the resource (freshly compiled kernels on a GPU machine). */
    static final String PTX_PROPERTY = "tandem.cuda.ptx";

    /** The formats tandem.cu has matmul and embed kernels for (not the K-quants). */
    static final Set<WeightFormat> SUPPORTED_FORMATS =
            EnumSet.of(WeightFormat.F32, WeightFormat.F16, WeightFormat.BF16, WeightFormat.Q8_0, WeightFormat.Q4_0);
    /** The formats with an integer-dot matmul (8-bit activations, as the host's Q8_0/Q4_0 matrices). */
    static final Set<WeightFormat> INTEGER_DOT_FORMATS = EnumSet.of(WeightFormat.Q8_0, WeightFormat.Q4_0);
    /** Activations per 8-bit activation block (quantize_q8's, the host's Q8Activations.BLOCK). */
    static final int ACTIVATION_BLOCK = 32;

    private final CUmodule module = new CUmodule();
    private final Map<CudaKernel, CUfunction> functions = new EnumMap<>(CudaKernel.class);
    private final CUstream stream;

    CudaKernels(String ptx, CUstream stream) {
        this.stream = stream;
        // The driver reads PTX as a NUL-terminated string.
        byte[] image = (ptx + "\0").getBytes(StandardCharsets.US_ASCII);
        check(cuModuleLoadDataEx(module, Pointer.to(image), 0, new int[0], Pointer.to(new int[0])),
                "cuModuleLoadDataEx(tandem.ptx)");
        try {
            for (CudaKernel kernel : CudaKernel.values()) {
                CUfunction function = new CUfunction();
                check(cuModuleGetFunction(function, module, kernel.entry), "cuModuleGetFunction(" + kernel.entry + ")");
                functions.put(kernel, function);
            }
        } catch (RuntimeException e) {
            cuModuleUnload(module);
            throw e;
        }
    }

    /** The PTX to load: the file -Dtandem.cuda.ptx names, else the kernels module's resource. */
    static String ptx() {
        String override = System.getProperty(PTX_PROPERTY);
        if (override != null && !override.isBlank()) {
            try {
                return Files.readString(Path.of(override), StandardCharsets.US_ASCII);
            } catch (IOException e) {
                throw new UncheckedIOException("-D" + PTX_PROPERTY + "=" + override + ": cannot read it", e);
            }
        }
        try (InputStream in = WeightFormat.class.getResourceAsStream(PTX_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(PTX_RESOURCE + " is missing from the kernels module"
                        + " (on the module path, dev.tandem.kernels must open dev.tandem.kernels.cuda)");
            }
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + PTX_RESOURCE, e);
        }
    }

    /**
     * Launches kernel on the device's stream, grid (gridX, gridY), kernel.threads threads per block,
     * after checking args against its declared kinds: a wrong launch fails here, not on the GPU.
     */
    @Override
    public void launch(CudaKernel kernel, int gridX, int gridY, Object... args) {
        Pointer params = parameters(kernel, args);
        if (gridX <= 0 || gridY <= 0) throw new IllegalArgumentException(kernel.entry + ": empty grid " + gridX + "x" + gridY);
        check(cuLaunchKernel(functions.get(kernel), gridX, gridY, 1, kernel.threads, 1, 1, 0, stream, params, null),
                "cuLaunchKernel(" + kernel.entry + ", grid " + gridX + "x" + gridY + ", block " + kernel.threads + ")");
    }

    /** The kernelParams array for args, or IllegalArgumentException naming the first that does not fit its kind. */
    static Pointer parameters(CudaKernel kernel, Object... args) {
        if (args.length != kernel.args.size()) {
            throw new IllegalArgumentException(kernel.entry + " takes " + kernel.args.size() + " arguments, got " + args.length);
        }
        Pointer[] pointers = new Pointer[args.length];
        for (int i = 0; i < args.length; i++) {
            CudaKernel.Arg kind = kernel.args.get(i);
            if (!kind.accepts(args[i])) {
                throw new IllegalArgumentException(kernel.entry + " argument " + i + " must be " + kind + ", got "
                        + (args[i] == null ? "null" : args[i].getClass().getSimpleName()));
            }
            pointers[i] = switch (kind) {
                case PTR -> Pointer.to((CUdeviceptr) args[i]);
                case I32 -> Pointer.to(new int[] {(Integer) args[i]});
                case F32 -> Pointer.to(new float[] {(Float) args[i]});
                case U64 -> Pointer.to(new long[] {(Long) args[i]});
            };
        }
        return Pointer.to(pointers);
    }

    @Override
    public void close() {
        functions.clear();
        cuModuleUnload(module);
    }
}
