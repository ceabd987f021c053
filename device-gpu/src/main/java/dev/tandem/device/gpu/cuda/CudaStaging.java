package dev.tandem.device.gpu.cuda;

import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUstream;

import java.lang.foreign.MemorySegment;

import static dev.tandem.device.gpu.cuda.CudaException.check;
import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;
import static jcuda.driver.JCudaDriver.cuMemFreeHost;
import static jcuda.driver.JCudaDriver.cuMemHostAlloc;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoHAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;

/**
 * Two pinned (page-locked) host buffers that every transfer goes through, so copies run
 * asynchronously on the device's stream: an upload returns once its data is in a staging buffer,
 * and a buffer is refilled only after the event recorded behind its last copy has passed. Each
 * buffer is seen from Java as a MemorySegment over the cuMemHostAlloc'ed memory.
 */
final class CudaStaging implements AutoCloseable {
    /** Bytes per staging buffer: large transfers go in chunks of this, alternating between the two. */
    static final long CHUNK_BYTES = 8L << 20;

    private final CUstream stream;
    private final Pointer[] host = {new Pointer(), new Pointer()};
    private final MemorySegment[] segments = new MemorySegment[2];
    private final CUevent[] drained = {new CUevent(), new CUevent()};
    private final boolean[] inFlight = new boolean[2];
    private int next;

    CudaStaging(CUstream stream) {
        this.stream = stream;
        int made = 0;
        try {
            for (; made < 2; made++) {
                check(cuMemHostAlloc(host[made], CHUNK_BYTES, 0), "cuMemHostAlloc(" + CHUNK_BYTES + " bytes)");
                segments[made] = MemorySegment.ofBuffer(host[made].getByteBuffer(0, CHUNK_BYTES));
                check(cuEventCreate(drained[made], CUevent_flags.CU_EVENT_DISABLE_TIMING), "cuEventCreate");
            }
        } catch (RuntimeException e) {
            for (int i = 0; i <= made && i < 2; i++) cuMemFreeHost(host[i]);
            throw e;
        }
    }

    /** Enqueues a copy of bytes of src (from srcOffset) to dst; returns when src may change. */
    void upload(MemorySegment src, long srcOffset, CUdeviceptr dst, long bytes) {
        for (long done = 0; done < bytes; ) {
            long n = Math.min(CHUNK_BYTES, bytes - done);
            int i = next;
            next = 1 - next;
            if (inFlight[i]) check(cuEventSynchronize(drained[i]), "cuEventSynchronize(staging)");
            MemorySegment.copy(src, srcOffset + done, segments[i], 0, n);
            check(cuMemcpyHtoDAsync(done == 0 ? dst : dst.withByteOffset(done), host[i], n, stream), "cuMemcpyHtoDAsync");
            check(cuEventRecord(drained[i], stream), "cuEventRecord(staging)");
            inFlight[i] = true;
            done += n;
        }
    }

    /** Copies bytes from src into dst (from dstOffset) after everything queued before it; blocking. */
    void download(CUdeviceptr src, MemorySegment dst, long dstOffset, long bytes) {
        for (long done = 0; done < bytes; ) {
            long n = Math.min(CHUNK_BYTES, bytes - done);
            check(cuMemcpyDtoHAsync(host[0], done == 0 ? src : src.withByteOffset(done), n, stream), "cuMemcpyDtoHAsync");
            check(cuStreamSynchronize(stream), "cuStreamSynchronize");
            inFlight[0] = inFlight[1] = false;  // the stream is drained
            MemorySegment.copy(segments[0], 0, dst, dstOffset + done, n);
            done += n;
        }
    }

    @Override
    public void close() {
        for (int i = 0; i < 2; i++) {
            cuEventDestroy(drained[i]);
            cuMemFreeHost(host[i]);
        }
    }
}
