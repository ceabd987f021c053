package dev.tandem.device.gpu.opencl;

import dev.tandem.device.gpu.shared.GpuPagedAttention;
import dev.tandem.device.gpu.shared.NativeSignals;
import dev.tandem.device.gpu.shared.OpChecks;
import dev.tandem.kernels.KernelConfig;
import dev.tandem.kernels.WeightFormat;
import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.AttentionWeights;
import dev.tandem.runtime.device.BatchRows;
import dev.tandem.runtime.device.DeviceBuffer;
import dev.tandem.runtime.device.DevicePagedAttention;
import dev.tandem.runtime.device.KvPoolSpec;
import dev.tandem.runtime.device.DeviceEvent;
import dev.tandem.runtime.device.DeviceMemoryException;
import dev.tandem.runtime.device.DeviceSpec;
import dev.tandem.runtime.device.DeviceWeights;
import dev.tandem.runtime.device.UnsupportedWeightFormatException;
import org.lwjgl.PointerBuffer;
import org.lwjgl.system.MemoryStack;
import org.lwjgl.system.MemoryUtil;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

import static dev.tandem.device.gpu.opencl.OpenClException.check;
import static dev.tandem.device.gpu.shared.OpChecks.requireLength;
import static dev.tandem.device.gpu.shared.OpChecks.requirePositive;
import static org.lwjgl.opencl.CL10.*;
import static org.lwjgl.opencl.CL12.clEnqueueMarkerWithWaitList;

/**
 * One OpenCL device: a context, one in-order command queue with profiling (for
 * {@link DeviceEvent}s), and tandem.cl compiled when the device opens.
 *
 * Every allocation is checked against CL_DEVICE_MAX_MEM_ALLOC_SIZE and what is left of
 * CL_DEVICE_GLOBAL_MEM_SIZE before clCreateBuffer, because drivers allocate lazily and would
 * otherwise fail later, at some unrelated enqueue. Host staging memory is malloc'ed and freed
 * around each blocking transfer. Ops are synchronized: kernel arguments are shared state.
 */
public final class OpenClDevice implements Device {
    /** Markers kept before record() sweeps the finished ones (their handles are released). */
    private static final int EVENT_SWEEP_THRESHOLD = 64;

    private final String name;
    private final long context;
    private final long queue;
    private final OpenClKernels kernels;
    private final long globalMemBytes;
    private final long maxAllocBytes;
    private final DeviceSpec spec;

    /** Live allocations: what close() releases and what the memory check counts. */
    private final Set<OpenClMemory> live = new HashSet<>();
    private long allocatedBytes;
    private final List<OpenClEvent> pendingEvents = new ArrayList<>();
    /** Device-side scratch, grown on demand: token ids for embed, scores for attention. */
    private OpenClBuffer tokenScratch;
    private OpenClBuffer scoreScratch;
    /** Paged attention's rows: their positions and their block tables, as ints. */
    private OpenClBuffer positionScratch, tableScratch;
    /** A Q8_0/Q4_0 matmul's input rounded to 8-bit blocks: the integers (bytes) and the block scales. */
    private OpenClBuffer activationInts, activationScales;
    /** Whether Q8_0/Q4_0 matmuls quantize their activations (the host's tandem.quantDot, unless a test chose). */
    private final boolean integerDot;
    private boolean closed;

    private OpenClDevice(long device, String source, boolean integerDot) {
        this.integerDot = integerDot;
        this.name = OpenClInfo.deviceString(device, CL_DEVICE_NAME);
        this.globalMemBytes = OpenClInfo.deviceLong(device, CL_DEVICE_GLOBAL_MEM_SIZE);
        this.maxAllocBytes = OpenClInfo.deviceLong(device, CL_DEVICE_MAX_MEM_ALLOC_SIZE);
        boolean gpu = OpenClBackend.isGpu(device);
        long platform = OpenClInfo.deviceSize(device, CL_DEVICE_PLATFORM);
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer err = stack.mallocInt(1);
            PointerBuffer properties = stack.pointers(CL_CONTEXT_PLATFORM, platform, 0);
            this.context = clCreateContext(properties, device, null, 0, err);
            check(err.get(0), "clCreateContext");
            this.queue = clCreateCommandQueue(context, device, CL_QUEUE_PROFILING_ENABLE, err);
            if (err.get(0) != CL_SUCCESS) {
                clReleaseContext(context);
                check(err.get(0), "clCreateCommandQueue");
            }
        }
        try {
            this.kernels = new OpenClKernels(context, device, queue, name, source, workGroupFor(device, gpu));
        } catch (RuntimeException e) {
            releaseQueueAndContext();
            throw e;
        }
        try {
            this.spec = OpenClSpecs.measure(this, device, gpu);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Opens device with the bundled tandem.cl. */
    static OpenClDevice open(long device) { return open(device, OpenClKernels.bundledSource()); }

    /** Opens device with the given kernel source (tests use a broken one to see the build log). */
    static OpenClDevice open(long device, String source) {
        return open(device, source, KernelConfig.integerDot());
    }

    /** Opens device whose Q8_0/Q4_0 matmuls multiply 8-bit (integerDot) or fp32 activations, whatever the host does. */
    static OpenClDevice open(long device, String source, boolean integerDot) {
        OpenClLibrary.load();
        // A context and a program build may start more of the driver (PoCL: LLVM and clang).
        return NativeSignals.preserving(() -> new OpenClDevice(device, source, integerDot));
    }

    /**
     * Work-items per group for the reduction kernels: a power of two, 256 on GPUs (enough warps
     * per row to hide latency) and 64 on CPUs (PoCL runs a group as loops on one thread, so
     * wide groups only add barrier overhead).
     */
    private static int workGroupFor(long device, boolean gpu) {
        long max = OpenClInfo.deviceSize(device, CL_DEVICE_MAX_WORK_GROUP_SIZE);
        long wanted = Math.min(gpu ? 256 : 64, max);
        return Integer.highestOneBit((int) wanted);
    }

    @Override
    public DeviceSpec spec() { return spec; }

    int workGroup() { return kernels.workGroup; }

    long queue() { return queue; }

    long context() { return context; }

    // ---- memory ----

    @Override
    public synchronized DeviceBuffer allocate(long floats) {
        if (floats <= 0) throw new IllegalArgumentException("allocate needs a positive length, got " + floats);
        long bytes = floats > Long.MAX_VALUE / Float.BYTES ? Long.MAX_VALUE : floats * Float.BYTES;
        return track(new OpenClBuffer(this, createBuffer(bytes, CL_MEM_READ_WRITE), floats));
    }

    @Override
    public synchronized DeviceWeights upload(WeightMatrix weights) {
        WeightFormat format = weights.format();
        if (!OpenClKernels.SUPPORTED_FORMATS.contains(format)) {
            throw new UnsupportedWeightFormatException("opencl", format, OpenClKernels.SUPPORTED_FORMATS);
        }
        int rows = weights.rows();
        int cols = weights.cols();
        if (rows <= 0 || cols <= 0 || cols % format.blockSize() != 0) {
            throw new IllegalArgumentException(format + " weights of " + rows + "x" + cols
                    + ": rows and cols must be positive and cols a multiple of " + format.blockSize());
        }
        long bytes = format.bytesFor((long) rows * cols);
        MemorySegment data = weights.data();
        if (data.byteSize() < bytes) {
            throw new IllegalArgumentException(format + " " + rows + "x" + cols + " needs " + bytes
                    + " bytes, the segment has " + data.byteSize());
        }
        long mem = createBuffer(bytes, CL_MEM_READ_ONLY);
        try (Arena arena = Arena.ofConfined()) {
            // clEnqueueWriteBuffer needs a native address; a heap segment is staged off-heap first.
            MemorySegment source = data.isNative() ? data : arena.allocate(bytes, 64).copyFrom(data.asSlice(0, bytes));
            check(nclEnqueueWriteBuffer(queue, mem, CL_TRUE, 0, bytes, source.address(), 0, 0, 0), "clEnqueueWriteBuffer");
        } catch (RuntimeException e) {
            clReleaseMemObject(mem);
            throw e;
        }
        return track(new OpenClWeights(this, mem, bytes, format, rows, cols));
    }

    /** Checks bytes against the device's limits, then creates the cl_mem (not yet counted: see track). */
    private long createBuffer(long bytes, long flags) {
        ensureOpen();
        long available = Math.max(0, Math.min(maxAllocBytes, globalMemBytes - allocatedBytes));
        if (bytes > available) throw new DeviceMemoryException(name, bytes, available);
        try (MemoryStack stack = MemoryStack.stackPush()) {
            IntBuffer err = stack.mallocInt(1);
            long mem = clCreateBuffer(context, flags, bytes, err);
            check(err.get(0), "clCreateBuffer(" + bytes + " bytes)");
            return mem;
        }
    }

    private <M extends OpenClMemory> M track(M memory) {
        live.add(memory);
        allocatedBytes += memory.bytes;
        return memory;
    }

    /** Releases one allocation; a no-op when it is already released or the device is closed. */
    synchronized void release(OpenClMemory memory) {
        if (!live.remove(memory)) return;
        allocatedBytes -= memory.bytes;
        clReleaseMemObject(memory.mem);  // OpenCL defers the free until queued commands using it finish
    }

    /** Bytes currently allocated on this device (buffers, weights and scratch). */
    synchronized long allocatedBytes() { return allocatedBytes; }

    @Override
    public synchronized void write(DeviceBuffer dst, long dstOffset, float[] src, int srcOffset, int length) {
        OpenClBuffer buffer = own(dst);
        Objects.checkFromIndexSize(srcOffset, length, src.length);
        Objects.checkFromIndexSize(dstOffset, (long) length, buffer.length());
        if (length == 0) return;
        FloatBuffer staging = MemoryUtil.memAllocFloat(length);
        try {
            staging.put(src, srcOffset, length).flip();
            check(clEnqueueWriteBuffer(queue, buffer.mem, true, dstOffset * Float.BYTES, staging, null, null),
                    "clEnqueueWriteBuffer");
        } finally {
            MemoryUtil.memFree(staging);
        }
    }

    @Override
    public synchronized void read(DeviceBuffer src, long srcOffset, float[] dst, int dstOffset, int length) {
        OpenClBuffer buffer = own(src);
        Objects.checkFromIndexSize(dstOffset, length, dst.length);
        Objects.checkFromIndexSize(srcOffset, (long) length, buffer.length());
        if (length == 0) {
            synchronize();
            return;
        }
        FloatBuffer staging = MemoryUtil.memAllocFloat(length);
        try {
            check(clEnqueueReadBuffer(queue, buffer.mem, true, srcOffset * Float.BYTES, staging, null, null),
                    "clEnqueueReadBuffer");
            staging.get(dst, dstOffset, length);
        } finally {
            MemoryUtil.memFree(staging);
        }
    }

    @Override
    public synchronized void copy(DeviceBuffer src, long srcOffset, DeviceBuffer dst, long dstOffset, long length) {
        OpenClBuffer from = own(src);
        OpenClBuffer to = own(dst);
        Objects.checkFromIndexSize(srcOffset, length, from.length());
        Objects.checkFromIndexSize(dstOffset, length, to.length());
        if (length == 0) return;
        check(clEnqueueCopyBuffer(queue, from.mem, to.mem, srcOffset * Float.BYTES, dstOffset * Float.BYTES,
                length * Float.BYTES, null, null), "clEnqueueCopyBuffer");
    }

    // ---- ops ----

    @Override
    public synchronized void embed(DeviceWeights table, int[] tokens, DeviceBuffer out) {
        OpenClWeights weights = own(table);
        OpenClBuffer output = own(out);
        if (tokens.length == 0) return;
        for (int token : tokens) {
            // A gather with a bad id would read outside the table on the device: refuse it here.
            Objects.checkIndex(token, weights.rows());
        }
        requireLength(output.length(), (long) tokens.length * weights.cols(), "embed out");
        if (tokenScratch == null || tokenScratch.length() < tokens.length) {
            if (tokenScratch != null) tokenScratch.close();
            tokenScratch = (OpenClBuffer) allocate(Math.max(tokens.length, 64));
        }
        IntBuffer staging = MemoryUtil.memAllocInt(tokens.length);
        try {
            staging.put(tokens).flip();
            // Blocking, so the staging memory can be freed right away; ids are a few bytes.
            check(clEnqueueWriteBuffer(queue, tokenScratch.mem, true, 0, staging, null, null), "clEnqueueWriteBuffer");
        } finally {
            MemoryUtil.memFree(staging);
        }
        kernels.embed(weights.format(), weights.mem, tokenScratch.mem, output.mem, weights.cols(), tokens.length);
    }

    @Override
    public synchronized void matmul(DeviceWeights w, DeviceBuffer x, DeviceBuffer out, int batch) {
        OpenClWeights weights = own(w);
        OpenClBuffer input = own(x);
        OpenClBuffer output = own(out);
        requirePositive(batch, "batch");
        requireLength(input.length(), (long) batch * weights.cols(), "matmul x");
        requireLength(output.length(), (long) batch * weights.rows(), "matmul out");
        WeightFormat format = weights.format();
        if (integerDot && OpenClKernels.INTEGER_DOT_FORMATS.contains(format)) {
            // As the host's Q8_0/Q4_0 matrices under tandem.quantDot=int8: x to 8-bit blocks, then integers.
            long values = (long) batch * weights.cols();
            int blocks = Math.toIntExact(values / OpenClKernels.ACTIVATION_BLOCK);
            activationInts = grow(activationInts, (values + Float.BYTES - 1) / Float.BYTES);
            activationScales = grow(activationScales, blocks);
            kernels.quantizeQ8(input.mem, activationInts.mem, activationScales.mem, blocks);
            kernels.matmulInt(format, weights.mem, activationInts.mem, activationScales.mem, output.mem,
                    weights.rows(), weights.cols(), batch);
            return;
        }
        kernels.matmul(format, weights.mem, input.mem, output.mem, weights.rows(), weights.cols(), batch);
    }

    /** scratch, or a new buffer of at least floats when it is smaller (the old one released). */
    private OpenClBuffer grow(OpenClBuffer scratch, long floats) {
        if (scratch != null && scratch.length() >= floats) return scratch;
        if (scratch != null) scratch.close();
        return (OpenClBuffer) allocate(Math.max(floats, 64));
    }

    @Override
    public synchronized void rmsnorm(DeviceBuffer out, DeviceBuffer x, DeviceBuffer weight, int n, int batch, float eps) {
        OpenClBuffer output = own(out);
        OpenClBuffer input = own(x);
        OpenClBuffer scale = own(weight);
        requirePositive(n, "n");
        requirePositive(batch, "batch");
        requireLength(input.length(), (long) n * batch, "rmsnorm x");
        requireLength(output.length(), (long) n * batch, "rmsnorm out");
        requireLength(scale.length(), n, "rmsnorm weight");
        kernels.rmsnorm(output.mem, input.mem, scale.mem, n, batch, eps);
    }

    @Override
    public synchronized void rope(DeviceBuffer vec, int nHeads, int headDim, int pos0, int batch, DeviceBuffer invFreq) {
        OpenClBuffer vector = own(vec);
        OpenClBuffer frequencies = own(invFreq);
        OpChecks.requireRope(nHeads, headDim, pos0, batch);
        requireLength(vector.length(), (long) batch * nHeads * headDim, "rope vec");
        requireLength(frequencies.length(), headDim / 2, "rope invFreq");
        kernels.rope(vector.mem, frequencies.mem, nHeads, headDim, pos0, batch);
    }

    @Override
    public synchronized void attention(DeviceBuffer out, DeviceBuffer q, DeviceBuffer keys, DeviceBuffer values,
                                       int startPos, int batch, int nHeads, int nKvHeads, int headDim) {
        OpenClBuffer output = own(out);
        OpenClBuffer query = own(q);
        OpenClBuffer keyCache = own(keys);
        OpenClBuffer valueCache = own(values);
        requirePositive(batch, "batch");
        OpChecks.requireHeads(nHeads, nKvHeads, headDim, OpenClKernels.MAX_HEAD_DIM);
        if (startPos < 0) throw new IllegalArgumentException("startPos must be >= 0, got " + startPos);
        long positions = (long) startPos + batch;
        long kvRow = (long) nKvHeads * headDim;
        requireLength(query.length(), (long) batch * nHeads * headDim, "attention q");
        requireLength(output.length(), (long) batch * nHeads * headDim, "attention out");
        requireLength(keyCache.length(), positions * kvRow, "attention keys");
        requireLength(valueCache.length(), positions * kvRow, "attention values");
        long scoreFloats = (long) batch * nHeads * positions;
        if (scoreScratch == null || scoreScratch.length() < scoreFloats) {
            if (scoreScratch != null) scoreScratch.close();
            scoreScratch = (OpenClBuffer) allocate(scoreFloats);
        }
        kernels.attention(output.mem, query.mem, keyCache.mem, valueCache.mem, scoreScratch.mem,
                startPos, batch, nHeads, nKvHeads, headDim);
    }

    @Override
    public DevicePagedAttention uploadPagedAttention(AttentionWeights w, KvPoolSpec pool, int maxRows) {
        // Every architecture's block: the options (biases, QK-norm) run as primitive ops between the kernels.
        return new GpuPagedAttention(this, this::attentionPaged, w, pool, maxRows);
    }

    @Override
    public long pagedAttentionBytes(AttentionWeights w, KvPoolSpec pool, int maxRows) {
        return GpuPagedAttention.bytes(w, pool, maxRows);
    }

    /**
     * Attention of each row of q over its own sequence's positions [0, its position], read from the
     * pool's keys and values through its block table (tandem.cl's attention_paged); rows already
     * validated against the pool.
     */
    synchronized void attentionPaged(DeviceBuffer out, DeviceBuffer q, DeviceBuffer keys, DeviceBuffer values, BatchRows rows,
                                     KvPoolSpec pool, int nHeads, int nKvHeads, int headDim) {
        OpenClBuffer output = own(out), query = own(q), keyPool = own(keys), valuePool = own(values);
        int batch = rows.size(), stride = 0, maxLen = 0;
        for (int i = 0; i < batch; i++) {
            stride = Math.max(stride, rows.blockTables()[i].length);
            maxLen = Math.max(maxLen, rows.positions()[i] + 1);
        }
        requireLength(query.length(), (long) batch * nHeads * headDim, "paged attention q");
        requireLength(output.length(), (long) batch * nHeads * headDim, "paged attention out");
        OpChecks.requirePool(keyPool.length(), valuePool.length(), pool, (long) nKvHeads * headDim);
        int[] tables = new int[batch * stride];
        for (int i = 0; i < batch; i++) {
            System.arraycopy(rows.blockTables()[i], 0, tables, i * stride, rows.blockTables()[i].length);
        }
        positionScratch = uploadInts(positionScratch, rows.positions());
        tableScratch = uploadInts(tableScratch, tables);
        long scoreFloats = (long) batch * nHeads * maxLen;
        if (scoreScratch == null || scoreScratch.length() < scoreFloats) {
            if (scoreScratch != null) scoreScratch.close();
            scoreScratch = (OpenClBuffer) allocate(scoreFloats);
        }
        kernels.attentionPaged(output.mem, query.mem, keyPool.mem, valuePool.mem, scoreScratch.mem, positionScratch.mem,
                tableScratch.mem, stride, pool.blockSize(), batch, nHeads, nKvHeads, headDim, maxLen);
    }

    /** ints into scratch (grown when too small; a float buffer of the same width), blocking so the staging memory can go. */
    private OpenClBuffer uploadInts(OpenClBuffer scratch, int[] ints) {
        if (scratch == null || scratch.length() < ints.length) {
            if (scratch != null) scratch.close();
            scratch = (OpenClBuffer) allocate(Math.max(ints.length, 64));
        }
        IntBuffer staging = MemoryUtil.memAllocInt(ints.length);
        try {
            staging.put(ints).flip();
            check(clEnqueueWriteBuffer(queue, scratch.mem, true, 0, staging, null, null), "clEnqueueWriteBuffer");
        } finally {
            MemoryUtil.memFree(staging);
        }
        return scratch;
    }

    @Override
    public synchronized void siluMul(DeviceBuffer gate, DeviceBuffer up, long n) {
        OpenClBuffer g = own(gate);
        OpenClBuffer u = own(up);
        requireLength(g.length(), n, "siluMul gate");
        requireLength(u.length(), n, "siluMul up");
        if (n > 0) kernels.siluMul(g.mem, u.mem, n);
    }

    @Override
    public synchronized void add(DeviceBuffer acc, DeviceBuffer x, long n) {
        OpenClBuffer a = own(acc);
        OpenClBuffer b = own(x);
        requireLength(a.length(), n, "add acc");
        requireLength(b.length(), n, "add x");
        if (n > 0) kernels.add(a.mem, b.mem, n);
    }

    // ---- queue ----

    @Override
    public synchronized void synchronize() {
        ensureOpen();
        check(clFinish(queue), "clFinish");
    }

    @Override
    public synchronized DeviceEvent record() {
        ensureOpen();
        if (pendingEvents.size() >= EVENT_SWEEP_THRESHOLD) pendingEvents.removeIf(OpenClEvent::resolveIfComplete);
        try (MemoryStack stack = MemoryStack.stackPush()) {
            PointerBuffer event = stack.mallocPointer(1);
            check(clEnqueueMarkerWithWaitList(queue, null, event), "clEnqueueMarkerWithWaitList");
            OpenClEvent marker = new OpenClEvent(this, event.get(0));
            pendingEvents.add(marker);
            return marker;
        }
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        clFinish(queue);  // let queued work end before its memory goes; errors here change nothing
        for (OpenClEvent event : pendingEvents) event.release();
        pendingEvents.clear();
        for (OpenClMemory memory : live) clReleaseMemObject(memory.mem);
        live.clear();
        allocatedBytes = 0;
        kernels.close();
        releaseQueueAndContext();
    }

    private void releaseQueueAndContext() {
        clReleaseCommandQueue(queue);
        clReleaseContext(context);
    }

    @Override
    public String toString() { return "opencl:" + name; }

    // ---- argument checks ----

    private void ensureOpen() {
        if (closed) throw new IllegalStateException(name + " is closed");
    }

    private OpenClBuffer own(DeviceBuffer buffer) {
        ensureOpen();
        if (buffer instanceof OpenClBuffer b && b.device == this && live.contains(b)) return b;
        throw new IllegalArgumentException("not a live buffer of " + name + ": " + buffer);
    }

    private OpenClWeights own(DeviceWeights weights) {
        ensureOpen();
        if (weights instanceof OpenClWeights w && w.device == this && live.contains(w)) return w;
        throw new IllegalArgumentException("not live weights of " + name + ": " + weights);
    }
}
