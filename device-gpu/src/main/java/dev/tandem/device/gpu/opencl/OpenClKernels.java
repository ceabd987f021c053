package dev.tandem.device.gpu.opencl;

import dev.tandem.device.gpu.shared.HostLanes;
import dev.tandem.kernels.WeightFormat;
import org.lwjgl.PointerBuffer;
import org.lwjgl.system.MemoryStack;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.IntBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static dev.tandem.device.gpu.opencl.OpenClException.check;
import static org.lwjgl.opencl.CL10.*;
import static org.lwjgl.opencl.CL12.CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT;
import static org.lwjgl.system.MemoryUtil.memASCII;

/**
 * The compiled program and one cl_kernel per op (and per weight format), with the launch
 * geometry each kernel was written for. Arguments are checked by the caller; this class only
 * binds them and enqueues. Not thread-safe: kernel arguments are shared state.
 */
final class OpenClKernels implements AutoCloseable {
    /** tandem.cl ships as a resource of the kernels module, beside the Java kernels it mirrors. */
    static final String SOURCE_RESOURCE = "/dev/tandem/kernels/opencl/tandem.cl";
    /** Largest head the attention kernel keeps in local memory (its MAX_HEAD_DIM). */
    static final int MAX_HEAD_DIM = 256;
    /** Activation rows one matmul work-group handles per weight row read (TB in tandem.cl). */
    static final int BATCH_TILE = 4;
    /** Work-items per elementwise work-group when we round a global size up. */
    private static final int ELEMENTWISE_GROUP = 64;

    final int workGroup;
    private final long queue;
    private final long program;
    private final Map<WeightFormat, Long> matmul = new EnumMap<>(WeightFormat.class);
    private final Map<WeightFormat, Long> embed = new EnumMap<>(WeightFormat.class);
    /** The integer-dot matmuls (the host's tandem.quantDot=int8 arithmetic), over quantizeQ8's output. */
    private final Map<WeightFormat, Long> matmulInt = new EnumMap<>(WeightFormat.class);
    private final long quantizeQ8;
    private final long rmsnorm;
    private final long rope;
    private final long attention;
    private final long attentionPaged;
    private final long siluMul;
    private final long add;
    private final List<Long> all = new ArrayList<>();

    static String bundledSource() {
        try (InputStream in = WeightFormat.class.getResourceAsStream(SOURCE_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(SOURCE_RESOURCE + " is missing from the kernels module"
                        + " (on the module path, dev.tandem.kernels must open dev.tandem.kernels.opencl)");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + SOURCE_RESOURCE, e);
        }
    }

    /** The formats tandem.cl has matmul and embed kernels for (not the K-quants). */
    static final Set<WeightFormat> SUPPORTED_FORMATS =
            EnumSet.of(WeightFormat.F32, WeightFormat.F16, WeightFormat.BF16, WeightFormat.Q8_0, WeightFormat.Q4_0);

    /** The formats with an integer-dot matmul (8-bit activations, as the host's Q8_0/Q4_0 matrices). */
    static final Set<WeightFormat> INTEGER_DOT_FORMATS = EnumSet.of(WeightFormat.Q8_0, WeightFormat.Q4_0);

    /** Activations per 8-bit activation block (quantize_q8's, the host's Q8Activations.BLOCK). */
    static final int ACTIVATION_BLOCK = 32;

    /** Compiles source for device; a compile error throws {@link OpenClBuildException} with the log. */
    OpenClKernels(long context, long device, long queue, String deviceName, String source, int workGroup) {
        this.queue = queue;
        this.workGroup = workGroup;
        this.program = buildProgram(context, device, deviceName, source,
                "-cl-std=CL1.2 -DWG=" + workGroup + " -DMAX_HEAD_DIM=" + MAX_HEAD_DIM
                        + " -DHOST_FL=" + hostFloatLanes() + divisionOption(device));
        try {
            for (WeightFormat format : SUPPORTED_FORMATS) {
                String suffix = format.name().toLowerCase();
                matmul.put(format, create("matmul_" + suffix));
                embed.put(format, create("embed_" + suffix));
            }
            for (WeightFormat format : INTEGER_DOT_FORMATS) {
                matmulInt.put(format, create("matmul_" + format.name().toLowerCase() + "_i8"));
            }
            quantizeQ8 = create("quantize_q8");
            rmsnorm = create("rmsnorm");
            rope = create("rope");
            attention = create("attention");
            attentionPaged = create("attention_paged");
            siluMul = create("silu_mul");
            add = create("add");
            for (long kernel : all) requireWorkGroup(kernel, device, deviceName);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /**
     * The lanes of the host's float vectors (its reductions' shape, which tandem.cl's rmsnorm, attention
     * and silu_mul follow); 1 when the host runs its scalar ops (tandem.vectorBits=0), whose sums
     * are sequential and which the device then follows only approximately.
     */
    static int hostFloatLanes() { return HostLanes.floats(); }

    /**
     * quantize_q8 must divide as Java does (correctly rounded). With cl_khr_fp64 it divides in double,
     * which rounds to the same float; without it, the option that makes fp32 division correctly
     * rounded, where the device has it (OpenCL's default allows 2.5 ulp).
     */
    private static String divisionOption(long device) {
        if (OpenClInfo.deviceString(device, CL_DEVICE_EXTENSIONS).contains("cl_khr_fp64")) return "";
        long fp = OpenClInfo.deviceLong(device, CL_DEVICE_SINGLE_FP_CONFIG);
        return (fp & CL_FP_CORRECTLY_ROUNDED_DIVIDE_SQRT) != 0 ? " -cl-fp32-correctly-rounded-divide-sqrt" : "";
    }

    private static long buildProgram(long context, long device, String deviceName, String source, String options) {
        long program;
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer err = stack.mallocInt(1);
            program = clCreateProgramWithSource(context, source, err);
            check(err.get(0), "clCreateProgramWithSource");
        }
        int code = clBuildProgram(program, device, options, null, 0);
        if (code != CL_SUCCESS) {
            String log = buildLog(program, device);
            clReleaseProgram(program);
            throw new OpenClBuildException("clBuildProgram", code, deviceName, log);
        }
        return program;
    }

    private static String buildLog(long program, long device) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer size = stack.mallocPointer(1);
            check(clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, (ByteBuffer) null, size),
                    "clGetProgramBuildInfo");
            int length = (int) size.get(0);
            if (length <= 1) return "(the compiler printed nothing)";
            ByteBuffer log = org.lwjgl.system.MemoryUtil.memAlloc(length);
            try {
                check(clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, log, null), "clGetProgramBuildInfo");
                return memASCII(log, length - 1).strip();
            } finally {
                org.lwjgl.system.MemoryUtil.memFree(log);
            }
        }
    }

    private long create(String name) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer err = stack.mallocInt(1);
            long kernel = clCreateKernel(program, name, err);
            check(err.get(0), "clCreateKernel(" + name + ")");
            all.add(kernel);
            return kernel;
        }
    }

    /** Our reductions assume exactly workGroup work-items per group; a register-hungry kernel may allow fewer. */
    private void requireWorkGroup(long kernel, long device, String deviceName) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer max = stack.mallocPointer(1);
            check(clGetKernelWorkGroupInfo(kernel, device, CL_KERNEL_WORK_GROUP_SIZE, max, null), "clGetKernelWorkGroupInfo");
            if (max.get(0) < workGroup) {
                throw new OpenClException("clGetKernelWorkGroupInfo", CL_INVALID_WORK_GROUP_SIZE,
                        deviceName + " allows only " + max.get(0) + " work-items per group for a kernel; tandem.cl needs "
                                + workGroup);
            }
        }
    }

    // ---- ops (arguments already validated) ----

    void matmul(WeightFormat format, long weights, long x, long out, int rows, int cols, int batch) {
        long kernel = matmul.get(format);
        mem(kernel, 0, weights);
        mem(kernel, 1, x);
        mem(kernel, 2, out);
        i32(kernel, 3, rows);
        i32(kernel, 4, cols);
        i32(kernel, 5, batch);
        launch(kernel, "matmul_" + format, (long) rows * workGroup, (batch + BATCH_TILE - 1) / BATCH_TILE, workGroup, 1);
    }

    /** x (blocks*32 floats) to 8-bit blocks: q (blocks*32 bytes) and their scales d (blocks floats). */
    void quantizeQ8(long x, long q, long d, int blocks) {
        mem(quantizeQ8, 0, x);
        mem(quantizeQ8, 1, q);
        mem(quantizeQ8, 2, d);
        i32(quantizeQ8, 3, blocks);
        launch(quantizeQ8, "quantize_q8", roundUp(blocks, workGroup), 1, workGroup, 1);
    }

    /** The integer-dot matmul of an {@link #INTEGER_DOT_FORMATS} format over {@link #quantizeQ8}'s q and d. */
    void matmulInt(WeightFormat format, long weights, long q, long d, long out, int rows, int cols, int batch) {
        long kernel = matmulInt.get(format);
        mem(kernel, 0, weights);
        mem(kernel, 1, q);
        mem(kernel, 2, d);
        mem(kernel, 3, out);
        i32(kernel, 4, rows);
        i32(kernel, 5, cols);
        i32(kernel, 6, batch);
        launch(kernel, "matmul_" + format + "_i8", roundUp(rows, workGroup), (batch + BATCH_TILE - 1) / BATCH_TILE, workGroup, 1);
    }

    private static long roundUp(long n, int multiple) { return (n + multiple - 1) / multiple * multiple; }

    void embed(WeightFormat format, long table, long tokens, long out, int cols, int count) {
        long kernel = embed.get(format);
        mem(kernel, 0, table);
        mem(kernel, 1, tokens);
        mem(kernel, 2, out);
        i32(kernel, 3, cols);
        launch(kernel, "embed_" + format, cols, count, 0, 0);
    }

    void rmsnorm(long out, long x, long weight, int n, int batch, float eps) {
        mem(rmsnorm, 0, out);
        mem(rmsnorm, 1, x);
        mem(rmsnorm, 2, weight);
        i32(rmsnorm, 3, n);
        check(clSetKernelArg1f(rmsnorm, 4, eps), "clSetKernelArg(rmsnorm, 4)");
        launch(rmsnorm, "rmsnorm", (long) batch * workGroup, 1, workGroup, 1);
    }

    void rope(long vec, long invFreq, int nHeads, int headDim, int pos0, int batch) {
        mem(rope, 0, vec);
        mem(rope, 1, invFreq);
        i32(rope, 2, nHeads);
        i32(rope, 3, headDim);
        i32(rope, 4, pos0);
        launch(rope, "rope", (long) nHeads * headDim / 2, batch, 0, 0);
    }

    void attention(long out, long q, long keys, long values, long scores, int startPos, int batch,
                   int nHeads, int nKvHeads, int headDim) {
        mem(attention, 0, out);
        mem(attention, 1, q);
        mem(attention, 2, keys);
        mem(attention, 3, values);
        mem(attention, 4, scores);
        i32(attention, 5, startPos);
        i32(attention, 6, nHeads);
        i32(attention, 7, nKvHeads);
        i32(attention, 8, headDim);
        i32(attention, 9, startPos + batch);
        launch(attention, "attention", (long) nHeads * workGroup, batch, workGroup, 1);
    }

    /** Paged attention for batch rows; positions (batch) and tables (batch, tableStride) are int buffers. */
    void attentionPaged(long out, long q, long keys, long values, long scores, long positions, long tables, int tableStride,
                        int blockSize, int batch, int nHeads, int nKvHeads, int headDim, int maxLen) {
        mem(attentionPaged, 0, out);
        mem(attentionPaged, 1, q);
        mem(attentionPaged, 2, keys);
        mem(attentionPaged, 3, values);
        mem(attentionPaged, 4, scores);
        mem(attentionPaged, 5, positions);
        mem(attentionPaged, 6, tables);
        i32(attentionPaged, 7, tableStride);
        i32(attentionPaged, 8, blockSize);
        i32(attentionPaged, 9, nHeads);
        i32(attentionPaged, 10, nKvHeads);
        i32(attentionPaged, 11, headDim);
        i32(attentionPaged, 12, maxLen);
        launch(attentionPaged, "attention_paged", (long) nHeads * workGroup, batch, workGroup, 1);
    }

    void siluMul(long gate, long up, long n) { elementwise(siluMul, "silu_mul", gate, up, n); }

    void add(long acc, long x, long n) { elementwise(add, "add", acc, x, n); }

    private void elementwise(long kernel, String name, long a, long b, long n) {
        mem(kernel, 0, a);
        mem(kernel, 1, b);
        check(clSetKernelArg1l(kernel, 2, n), "clSetKernelArg(" + name + ", 2)");
        long global = (n + ELEMENTWISE_GROUP - 1) / ELEMENTWISE_GROUP * ELEMENTWISE_GROUP;
        launch(kernel, name, global, 1, ELEMENTWISE_GROUP, 1);
    }

    private static void mem(long kernel, int index, long mem) {
        check(clSetKernelArg1p(kernel, index, mem), "clSetKernelArg(" + index + ")");
    }

    private static void i32(long kernel, int index, int value) {
        check(clSetKernelArg1i(kernel, index, value), "clSetKernelArg(" + index + ")");
    }

    /** A 2-D launch; local 0 lets the implementation choose the work-group shape. */
    private void launch(long kernel, String name, long globalX, long globalY, long localX, long localY) {
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer global = stack.pointers(globalX, globalY);
            PointerBuffer local = localX == 0 ? null : stack.pointers(localX, localY);
            check(clEnqueueNDRangeKernel(queue, kernel, 2, null, global, local, null, null),
                    "clEnqueueNDRangeKernel(" + name + ")");
        }
    }

    @Override
    public void close() {
        for (long kernel : all) clReleaseKernel(kernel);
        all.clear();
        clReleaseProgram(program);
    }
}
