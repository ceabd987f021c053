package dev.tandem.device.gpu.cuda;

import dev.tandem.device.gpu.shared.GpuPagedAttention;
import dev.tandem.device.gpu.shared.HostLanes;
import dev.tandem.device.gpu.shared.OpChecks;
import dev.tandem.kernels.KernelConfig;
import dev.tandem.kernels.WeightFormat;
import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.device.AttentionWeights;
import dev.tandem.runtime.device.BatchRows;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DeviceBuffer;
import dev.tandem.runtime.device.DeviceEvent;
import dev.tandem.runtime.device.DeviceMemoryException;
import dev.tandem.runtime.device.DevicePagedAttention;
import dev.tandem.runtime.device.DeviceSpec;
import dev.tandem.runtime.device.DeviceWeights;
import dev.tandem.runtime.device.KvPoolSpec;
import dev.tandem.runtime.device.UnsupportedWeightFormatException;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

import static dev.tandem.device.gpu.cuda.CudaException.check;
import static dev.tandem.device.gpu.shared.OpChecks.requireLength;
import static dev.tandem.device.gpu.shared.OpChecks.requirePositive;
import static jcuda.driver.JCudaDriver.*;

/**
 * One CUDA device: its primary context, one non-blocking stream every op and copy is queued on,
 * pinned staging buffers for host transfers (writes return before the copy ends), and tandem.ptx.
 *
 * Every allocation is checked against cuMemGetInfo's free bytes first, so running out is a
 * DeviceMemoryException naming the sizes, not a driver error at some later launch. Ops are
 * synchronized, and each makes the context current on the calling thread (CUDA contexts are per thread).
 */
public final class CudaDevice implements Device {
    /** Events kept before record() sweeps the finished ones (their handles are freed). */
    private static final int EVENT_SWEEP_THRESHOLD = 256;

    private final CUdevice device;
    private final String name;
    private final CUcontext context = new CUcontext();
    private final CUstream stream = new CUstream();
    private final CUevent epoch = new CUevent();
    private final boolean integerDot;
    private CudaStaging staging;
    private CudaKernels kernels;
    private CudaLaunches ops;
    private DeviceSpec spec;
    private boolean contextRetained, streamCreated, epochCreated, closed;

    /** Live allocations: what close() frees and what allocatedBytes() counts. */
    private final Set<CudaMemory> live = new HashSet<>();
    private long allocatedBytes;
    private final List<CudaEvent> pendingEvents = new ArrayList<>();
    /** Device-side scratch, grown on demand: token ids, attention scores, paged rows' positions and tables. */
    private CudaBuffer tokenScratch, scoreScratch, positionScratch, tableScratch;
    /** A Q8_0/Q4_0 matmul's input rounded to 8-bit blocks: the integers (bytes) and the block scales. */
    private CudaBuffer activationInts, activationScales;

    private CudaDevice(int ordinal, String ptx, boolean integerDot) {
        this.integerDot = integerDot;
        this.device = new CUdevice();
        check(cuDeviceGet(device, ordinal), "cuDeviceGet(" + ordinal + ")");
        this.name = CudaInfo.name(device);
        try {
            check(cuDevicePrimaryCtxRetain(context, device), "cuDevicePrimaryCtxRetain");
            contextRetained = true;
            bind();
            check(cuStreamCreate(stream, CUstream_flags.CU_STREAM_NON_BLOCKING), "cuStreamCreate");
            streamCreated = true;
            check(cuEventCreate(epoch, CUevent_flags.CU_EVENT_DEFAULT), "cuEventCreate");
            epochCreated = true;
            check(cuEventRecord(epoch, stream), "cuEventRecord");
            staging = new CudaStaging(stream);
            kernels = new CudaKernels(ptx, stream);
            ops = new CudaLaunches(kernels, hostLanes());
            spec = CudaSpecs.measure(this, device, name);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Opens device ordinal with the bundled (or -Dtandem.cuda.ptx) PTX and the host's activation mode. */
    static CudaDevice open(int ordinal) { return open(ordinal, KernelConfig.integerDot()); }

    /** Opens device ordinal whose Q8_0/Q4_0 matmuls multiply 8-bit (integerDot) or fp32 activations. */
    static CudaDevice open(int ordinal, boolean integerDot) {
        CudaLibrary.load();
        check(cuInit(0), "cuInit");  // idempotent; a device may be opened without a probe first
        return new CudaDevice(ordinal, CudaKernels.ptx(), integerDot);
    }

    /** The host's float lanes, which tandem.cu's host_dot takes as a launch argument (a power of two up to 16). */
    static int hostLanes() {
        int lanes = HostLanes.floats();
        if (Integer.bitCount(lanes) != 1 || lanes > 16) {
            throw new IllegalStateException("the host's float vectors have " + lanes + " lanes; tandem.cu follows 1 to 16");
        }
        return lanes;
    }

    /** Makes the context current on this thread. */
    void bind() { check(cuCtxSetCurrent(context), "cuCtxSetCurrent"); }

    CUevent epoch() { return epoch; }

    @Override
    public DeviceSpec spec() { return spec; }

    // ---- memory ----

    @Override
    public synchronized DeviceBuffer allocate(long floats) {
        if (floats <= 0) throw new IllegalArgumentException("allocate needs a positive length, got " + floats);
        long bytes = floats > Long.MAX_VALUE / Float.BYTES ? Long.MAX_VALUE : floats * Float.BYTES;
        CudaBuffer buffer = track(new CudaBuffer(this, alloc(bytes), floats));
        // cuMemAlloc may hand back memory another buffer used; zeros, as the host device's buffers start.
        check(cuMemsetD32Async(buffer.ptr, 0, floats, stream), "cuMemsetD32Async(" + floats + " floats)");
        return buffer;
    }

    @Override
    public synchronized DeviceWeights upload(WeightMatrix weights) {
        WeightFormat format = weights.format();
        if (!CudaKernels.SUPPORTED_FORMATS.contains(format)) {
            throw new UnsupportedWeightFormatException("cuda", format, CudaKernels.SUPPORTED_FORMATS);
        }
        int rows = weights.rows(), cols = weights.cols();
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
        CudaWeights uploaded = track(new CudaWeights(this, alloc(bytes), bytes, format, rows, cols));
        staging.upload(data, 0, uploaded.ptr, bytes);
        return uploaded;
    }

    /** Checks bytes against the device's free memory, then allocates (not yet counted: see track). */
    private CUdeviceptr alloc(long bytes) {
        ensureOpen();
        long[] free = new long[1], total = new long[1];
        check(cuMemGetInfo(free, total), "cuMemGetInfo");
        if (bytes > free[0]) throw new DeviceMemoryException(name, bytes, free[0]);
        CUdeviceptr ptr = new CUdeviceptr();
        check(cuMemAlloc(ptr, bytes), "cuMemAlloc(" + bytes + " bytes)");
        return ptr;
    }

    private <M extends CudaMemory> M track(M memory) {
        live.add(memory);
        allocatedBytes += memory.bytes;
        return memory;
    }

    /** Frees one allocation after the work queued before it; a no-op when already freed or the device is closed. */
    synchronized void release(CudaMemory memory) {
        if (!live.remove(memory)) return;
        allocatedBytes -= memory.bytes;
        bind();
        // cuMemFree does not wait for the stream: queued kernels may still read this memory.
        check(cuStreamSynchronize(stream), "cuStreamSynchronize");
        check(cuMemFree(memory.ptr), "cuMemFree");
    }

    /** Bytes currently allocated on this device (buffers, weights and scratch). */
    synchronized long allocatedBytes() { return allocatedBytes; }

    @Override
    public synchronized void write(DeviceBuffer dst, long dstOffset, float[] src, int srcOffset, int length) {
        CudaBuffer buffer = own(dst);
        Objects.checkFromIndexSize(srcOffset, length, src.length);
        Objects.checkFromIndexSize(dstOffset, (long) length, buffer.length());
        if (length == 0) return;
        staging.upload(MemorySegment.ofArray(src), (long) srcOffset * Float.BYTES, buffer.at(dstOffset), (long) length * Float.BYTES);
    }

    @Override
    public synchronized void read(DeviceBuffer src, long srcOffset, float[] dst, int dstOffset, int length) {
        CudaBuffer buffer = own(src);
        Objects.checkFromIndexSize(dstOffset, length, dst.length);
        Objects.checkFromIndexSize(srcOffset, (long) length, buffer.length());
        if (length == 0) {
            synchronize();
            return;
        }
        staging.download(buffer.at(srcOffset), MemorySegment.ofArray(dst), (long) dstOffset * Float.BYTES, (long) length * Float.BYTES);
    }

    @Override
    public synchronized void copy(DeviceBuffer src, long srcOffset, DeviceBuffer dst, long dstOffset, long length) {
        CudaBuffer from = own(src), to = own(dst);
        Objects.checkFromIndexSize(srcOffset, length, from.length());
        Objects.checkFromIndexSize(dstOffset, length, to.length());
        if (length == 0) return;
        if (from == to && srcOffset < dstOffset + length && dstOffset < srcOffset + length) {
            // CUDA does not define overlapping copies (OpenCL refuses them with CL_MEM_COPY_OVERLAP).
            throw new IllegalArgumentException("copy within one buffer with overlapping ranges: [" + srcOffset + ", "
                    + (srcOffset + length) + ") to [" + dstOffset + ", " + (dstOffset + length) + ")");
        }
        check(cuMemcpyDtoDAsync(to.at(dstOffset), from.at(srcOffset), length * Float.BYTES, stream), "cuMemcpyDtoDAsync");
    }

    /** ints into scratch (grown when too small; a float buffer of the same width), through the staging buffers. */
    private CudaBuffer uploadInts(CudaBuffer scratch, int[] ints) {
        CudaBuffer target = grow(scratch, ints.length);
        staging.upload(MemorySegment.ofArray(ints), 0, target.ptr, (long) ints.length * Integer.BYTES);
        return target;
    }

    /** scratch, or a new buffer of at least floats when it is smaller (the old one freed). */
    private CudaBuffer grow(CudaBuffer scratch, long floats) {
        if (scratch != null && scratch.length() >= floats) return scratch;
        if (scratch != null) scratch.close();
        return (CudaBuffer) allocate(Math.max(floats, 64));
    }

    // ---- ops ----

    @Override
    public synchronized void embed(DeviceWeights table, int[] tokens, DeviceBuffer out) {
        CudaWeights weights = own(table);
        CudaBuffer output = own(out);
        if (tokens.length == 0) return;
        // A gather with a bad id would read outside the table on the device: refuse it here.
        for (int token : tokens) Objects.checkIndex(token, weights.rows());
        requireLength(output.length(), (long) tokens.length * weights.cols(), "embed out");
        tokenScratch = uploadInts(tokenScratch, tokens);
        ops.embed(weights.format(), weights.ptr, tokenScratch.ptr, output.ptr, weights.cols(), tokens.length);
    }

    @Override
    public synchronized void matmul(DeviceWeights w, DeviceBuffer x, DeviceBuffer out, int batch) {
        CudaWeights weights = own(w);
        CudaBuffer input = own(x), output = own(out);
        requirePositive(batch, "batch");
        requireLength(input.length(), (long) batch * weights.cols(), "matmul x");
        requireLength(output.length(), (long) batch * weights.rows(), "matmul out");
        WeightFormat format = weights.format();
        if (integerDot && CudaKernels.INTEGER_DOT_FORMATS.contains(format)) {
            // As the host's Q8_0/Q4_0 matrices under tandem.quantDot=int8: x to 8-bit blocks, then integers.
            long values = (long) batch * weights.cols();
            int blocks = Math.toIntExact(values / CudaKernels.ACTIVATION_BLOCK);
            activationInts = grow(activationInts, (values + Float.BYTES - 1) / Float.BYTES);
            activationScales = grow(activationScales, blocks);
            ops.quantizeQ8(input.ptr, activationInts.ptr, activationScales.ptr, blocks);
            ops.matmulInt(format, weights.ptr, activationInts.ptr, activationScales.ptr, output.ptr,
                    weights.rows(), weights.cols(), batch);
            return;
        }
        ops.matmul(format, weights.ptr, input.ptr, output.ptr, weights.rows(), weights.cols(), batch);
    }

    @Override
    public synchronized void rmsnorm(DeviceBuffer out, DeviceBuffer x, DeviceBuffer weight, int n, int batch, float eps) {
        CudaBuffer output = own(out), input = own(x), scale = own(weight);
        requirePositive(n, "n");
        requirePositive(batch, "batch");
        requireLength(input.length(), (long) n * batch, "rmsnorm x");
        requireLength(output.length(), (long) n * batch, "rmsnorm out");
        requireLength(scale.length(), n, "rmsnorm weight");
        ops.rmsnorm(output.ptr, input.ptr, scale.ptr, n, batch, eps);
    }

    @Override
    public synchronized void rope(DeviceBuffer vec, int nHeads, int headDim, int pos0, int batch, DeviceBuffer invFreq) {
        CudaBuffer vector = own(vec), frequencies = own(invFreq);
        OpChecks.requireRope(nHeads, headDim, pos0, batch);
        requireLength(vector.length(), (long) batch * nHeads * headDim, "rope vec");
        requireLength(frequencies.length(), headDim / 2, "rope invFreq");
        ops.rope(vector.ptr, frequencies.ptr, nHeads, headDim, pos0, batch);
    }

    @Override
    public synchronized void attention(DeviceBuffer out, DeviceBuffer q, DeviceBuffer keys, DeviceBuffer values,
                                       int startPos, int batch, int nHeads, int nKvHeads, int headDim) {
        CudaBuffer output = own(out), query = own(q), keyCache = own(keys), valueCache = own(values);
        requirePositive(batch, "batch");
        OpChecks.requireHeads(nHeads, nKvHeads, headDim, CudaKernel.MAX_HEAD_DIM);
        if (startPos < 0) throw new IllegalArgumentException("startPos must be >= 0, got " + startPos);
        long positions = (long) startPos + batch;
        long kvRow = (long) nKvHeads * headDim;
        requireLength(query.length(), (long) batch * nHeads * headDim, "attention q");
        requireLength(output.length(), (long) batch * nHeads * headDim, "attention out");
        requireLength(keyCache.length(), positions * kvRow, "attention keys");
        requireLength(valueCache.length(), positions * kvRow, "attention values");
        scoreScratch = grow(scoreScratch, (long) batch * nHeads * positions);
        ops.attention(output.ptr, query.ptr, keyCache.ptr, valueCache.ptr, scoreScratch.ptr,
                startPos, batch, nHeads, nKvHeads, headDim);
    }

    @Override
    public DevicePagedAttention uploadPagedAttention(AttentionWeights w, KvPoolSpec pool, int maxRows) {
        return new GpuPagedAttention(this, this::attentionPaged, w, pool, maxRows);
    }

    @Override
    public long pagedAttentionBytes(AttentionWeights w, KvPoolSpec pool, int maxRows) {
        return GpuPagedAttention.bytes(w, pool, maxRows);
    }

    /** attention_paged: each row of q over its own sequence through its block table; rows validated against the pool. */
    synchronized void attentionPaged(DeviceBuffer out, DeviceBuffer q, DeviceBuffer keys, DeviceBuffer values, BatchRows rows,
                                     KvPoolSpec pool, int nHeads, int nKvHeads, int headDim) {
        CudaBuffer output = own(out), query = own(q), keyPool = own(keys), valuePool = own(values);
        OpChecks.requireHeads(nHeads, nKvHeads, headDim, CudaKernel.MAX_HEAD_DIM);
        int batch = rows.size(), stride = OpChecks.tableStride(rows), maxLen = OpChecks.maxLength(rows);
        requireLength(query.length(), (long) batch * nHeads * headDim, "paged attention q");
        requireLength(output.length(), (long) batch * nHeads * headDim, "paged attention out");
        OpChecks.requirePool(keyPool.length(), valuePool.length(), pool, (long) nKvHeads * headDim);
        positionScratch = uploadInts(positionScratch, rows.positions());
        tableScratch = uploadInts(tableScratch, OpChecks.flatTables(rows));
        scoreScratch = grow(scoreScratch, (long) batch * nHeads * maxLen);
        ops.attentionPaged(output.ptr, query.ptr, keyPool.ptr, valuePool.ptr, scoreScratch.ptr, positionScratch.ptr,
                tableScratch.ptr, stride, pool.blockSize(), batch, nHeads, nKvHeads, headDim, maxLen);
    }

    @Override
    public synchronized void siluMul(DeviceBuffer gate, DeviceBuffer up, long n) {
        CudaBuffer g = own(gate), u = own(up);
        requireLength(g.length(), n, "siluMul gate");
        requireLength(u.length(), n, "siluMul up");
        if (n > 0) ops.siluMul(g.ptr, u.ptr, n);
    }

    @Override
    public synchronized void add(DeviceBuffer acc, DeviceBuffer x, long n) {
        CudaBuffer a = own(acc), b = own(x);
        requireLength(a.length(), n, "add acc");
        requireLength(b.length(), n, "add x");
        if (n > 0) ops.add(a.ptr, b.ptr, n);
    }

    /** A launch outside the ops (tests: a bad geometry must come back as a named CudaException). */
    synchronized void launch(CudaKernel kernel, int gridX, int gridY, Object... args) {
        ensureOpen();
        kernels.launch(kernel, gridX, gridY, args);
    }

    // ---- stream ----

    @Override
    public synchronized void synchronize() {
        ensureOpen();
        check(cuStreamSynchronize(stream), "cuStreamSynchronize");
    }

    @Override
    public synchronized DeviceEvent record() {
        ensureOpen();
        if (pendingEvents.size() >= EVENT_SWEEP_THRESHOLD) pendingEvents.removeIf(CudaEvent::sweepIfComplete);
        CUevent event = new CUevent();
        check(cuEventCreate(event, CUevent_flags.CU_EVENT_DEFAULT), "cuEventCreate");
        try {
            check(cuEventRecord(event, stream), "cuEventRecord");
        } catch (RuntimeException e) {
            cuEventDestroy(event);
            throw e;
        }
        CudaEvent marker = new CudaEvent(this, event);
        pendingEvents.add(marker);
        return marker;
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        if (!contextRetained) return;
        cuCtxSetCurrent(context);
        if (streamCreated) cuStreamSynchronize(stream);  // let queued work end before its memory goes
        for (CudaEvent event : pendingEvents) event.release();
        pendingEvents.clear();
        for (CudaMemory memory : live) cuMemFree(memory.ptr);
        live.clear();
        allocatedBytes = 0;
        if (kernels != null) kernels.close();
        if (staging != null) staging.close();
        if (epochCreated) cuEventDestroy(epoch);
        if (streamCreated) cuStreamDestroy(stream);
        cuDevicePrimaryCtxRelease(device);
    }

    @Override
    public String toString() { return "cuda:" + name; }

    // ---- argument checks ----

    private void ensureOpen() {
        if (closed) throw new IllegalStateException(name + " is closed");
        bind();
    }

    private CudaBuffer own(DeviceBuffer buffer) {
        ensureOpen();
        if (buffer instanceof CudaBuffer b && b.device == this && live.contains(b)) return b;
        throw new IllegalArgumentException("not a live buffer of " + name + ": " + buffer);
    }

    private CudaWeights own(DeviceWeights weights) {
        ensureOpen();
        if (weights instanceof CudaWeights w && w.device == this && live.contains(w)) return w;
        throw new IllegalArgumentException("not live weights of " + name + ": " + weights);
    }
}
