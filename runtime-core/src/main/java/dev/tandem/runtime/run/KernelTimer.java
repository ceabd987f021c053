package dev.tandem.runtime.run;

import dev.tandem.kernels.WeightMatrix;
import dev.tandem.runtime.device.AttentionWeights;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DeviceBuffer;
import dev.tandem.runtime.device.DeviceEvent;
import dev.tandem.runtime.device.DevicePagedAttention;
import dev.tandem.runtime.device.DeviceSpec;
import dev.tandem.runtime.device.DeviceWeights;
import dev.tandem.runtime.device.FfnWeights;
import dev.tandem.runtime.device.KvPoolSpec;
import dev.tandem.runtime.device.MoeFfnWeights;
import dev.tandem.runtime.compiler.OpKind;
import dev.tandem.runtime.device.DeviceAttention;
import dev.tandem.runtime.device.DeviceFfn;
import dev.tandem.runtime.profile.KernelClass;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A present device that, while {@link #enabled}, times each kernel call on the device's own clock
 * (a {@link Device#record} marker before and after it) and adds it to the call's {@link KernelClass}.
 * The attention and FFN blocks are the primitive ones built over this device, so their kernels pass
 * through here; a block the device runs its own way (the cpu's FFN) is timed whole as a
 * {@link KernelClass#FUSED_BLOCK}, and a device running both blocks its own way ({@link #splits}) is
 * not wrapped. On an in-order queue a kernel's start marker completes when the kernel before it
 * ends, so its window is its own; markers are resolved when {@link #collect} is asked.
 *
 * <p>Disabled, every call is the device's own plus one flag check: {@code tandem run} judges a step
 * timed without the markers, and splits a second run of the same request with them.
 */
final class KernelTimer implements Device {
    private final Device device;
    private volatile boolean enabled;
    private final List<Timed> pending = new ArrayList<>();
    private final Set<OpKind> fused = java.util.EnumSet.noneOf(OpKind.class);
    /** Host nanoseconds the markers themselves took since the last collect (see {@link #start}). */
    private long markerNanos;

    private record Timed(KernelClass kind, DeviceEvent start, DeviceEvent end) {}

    private KernelTimer(Device device) { this.device = device; }

    /** The device behind a timer, or a timer over device when its blocks are the primitive ones; else device itself. */
    static Device wrap(Device device) {
        return splits(device) ? new KernelTimer(device) : device;
    }

    /** Whether device's attention or FFN blocks are the SPI's primitive ones, so their kernels can be timed one by one. */
    static boolean splits(Device device) {
        return primitive(device, "uploadAttention", AttentionWeights.class) || primitive(device, "uploadFfn", FfnWeights.class);
    }

    private static boolean primitive(Device device, String upload, Class<?> weights) {
        try {
            Class<?>[] args = upload.equals("uploadAttention") ? new Class<?>[] {weights, int.class, int.class} : new Class<?>[] {weights, int.class};
            return device.getClass().getMethod(upload, args).getDeclaringClass() == Device.class;
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException("the Device interface lost a method", e);
        }
    }

    // A block the device runs its own way (the cpu's fused FFN) stays its own: its kernels cannot be timed
    // one by one, so the block is timed whole, as a fused block.
    @Override
    public DeviceAttention uploadAttention(AttentionWeights w, int maxPositions, int maxBatch) {
        if (primitive(device, "uploadAttention", AttentionWeights.class)) {
            return Device.super.uploadAttention(w, maxPositions, maxBatch);
        }
        fused.add(OpKind.ATTENTION);
        return new TimedAttention(device.uploadAttention(w, maxPositions, maxBatch));
    }

    @Override
    public DeviceFfn uploadFfn(FfnWeights w, int maxBatch) {
        if (primitive(device, "uploadFfn", FfnWeights.class)) {
            return Device.super.uploadFfn(w, maxBatch);
        }
        fused.add(OpKind.FFN);
        DeviceFfn own = device.uploadFfn(w, maxBatch);
        return new DeviceFfn() {
            @Override
            public void run(DeviceBuffer x, int batch) {
                DeviceEvent s = start();
                own.run(x, batch);
                end(KernelClass.FUSED_BLOCK, s);
            }

            @Override
            public void close() { own.close(); }
        };
    }

    /** The blocks this device runs its own way, timed whole ({@link KernelClass#FUSED_BLOCK}). */
    Set<OpKind> fusedBlocks() { return Set.copyOf(fused); }

    private final class TimedAttention implements DeviceAttention {
        private final DeviceAttention own;

        TimedAttention(DeviceAttention own) { this.own = own; }

        @Override
        public int maxPositions() { return own.maxPositions(); }

        @Override
        public void run(DeviceBuffer x, int pos0, int batch) {
            DeviceEvent s = start();
            own.run(x, pos0, batch);
            end(KernelClass.FUSED_BLOCK, s);
        }

        @Override
        public void readKv(int from, int count, float[] k, float[] v) { own.readKv(from, count, k, v); }

        @Override
        public void writeKv(int from, int count, float[] k, float[] v) { own.writeKv(from, count, k, v); }

        @Override
        public void close() { own.close(); }
    }

    @Override
    public long attentionBytes(AttentionWeights w, int maxPositions, int maxBatch) {
        return device.attentionBytes(w, maxPositions, maxBatch);
    }

    @Override
    public long ffnBytes(FfnWeights w, int maxBatch) {
        return device.ffnBytes(w, maxBatch);
    }

    void enable(boolean on) { enabled = on; }

    /** Seconds by class since the last collect, waiting for the markers; clears them. */
    Map<KernelClass, Double> collect() {
        Map<KernelClass, Double> byClass = new EnumMap<>(KernelClass.class);
        for (Timed t : pending) {
            byClass.merge(t.kind(), t.end().nanosSince(t.start()) / 1e9, Double::sum);
        }
        pending.clear();
        return byClass;
    }

    /**
     * Seconds the timer's own markers took since the last call, on the host's clock, and clears them:
     * time the judged pass (no kernel markers) does not spend. On a device that runs each call before
     * it returns (the cpu) all of it lands in the op's window; on an asynchronous one it overlaps the
     * device's work unless the device waits for the host. The split pass takes it out of "between
     * kernels", down to zero at most.
     */
    double collectMarkerSeconds() {
        double s = markerNanos / 1e9;
        markerNanos = 0;
        return s;
    }

    /**
     * Before a host copy, while timing: the queue drains first. On an asynchronous device the host
     * enqueues a whole step before the head's blocking read, and PoCL's markers around a blocking
     * transfer did not wait for the kernels queued before it: the read's window held the step's every
     * kernel (a "host copy" of 2 ms in a 12 ms step of the embedded model).
     *
     * <p>Only there: draining before every kernel made each start on an idle device, so its window
     * held the host's enqueue after the drain, and the gaps between kernels the drains' round trips,
     * none of which the judged pass pays (PoCL, embedded model, load 16: a split-pass step of 46 ms
     * with 33 ms "between kernels" against a judged step of 9.9 ms; without: 4.7 ms against 4.8).
     */
    private void drain() {
        if (enabled) {
            device.synchronize();
        }
    }

    /** The start of a timed kernel: a marker, its host time counted apart ({@link #collectMarkerSeconds}). */
    private DeviceEvent start() {
        if (!enabled) {
            return null;
        }
        long entered = System.nanoTime();
        DeviceEvent start = device.record();
        markerNanos += System.nanoTime() - entered;
        return start;
    }

    private void end(KernelClass kind, DeviceEvent start) {
        if (start != null) {
            long left = System.nanoTime();
            pending.add(new Timed(kind, start, device.record()));
            markerNanos += System.nanoTime() - left;
        }
    }

    // ---- the kernels, timed ----

    @Override
    public void write(DeviceBuffer dst, long dstOffset, float[] src, int srcOffset, int length) {
        drain();
        DeviceEvent s = start();
        device.write(dst, dstOffset, src, srcOffset, length);
        end(KernelClass.HOST_COPY, s);
    }

    @Override
    public void read(DeviceBuffer src, long srcOffset, float[] dst, int dstOffset, int length) {
        drain();
        DeviceEvent s = start();
        device.read(src, srcOffset, dst, dstOffset, length);
        end(KernelClass.HOST_COPY, s);
    }

    @Override
    public void copy(DeviceBuffer src, long srcOffset, DeviceBuffer dst, long dstOffset, long length) {
        DeviceEvent s = start();
        device.copy(src, srcOffset, dst, dstOffset, length);
        end(KernelClass.COPY, s);
    }

    @Override
    public void embed(DeviceWeights table, int[] tokens, DeviceBuffer out) {
        DeviceEvent s = start();
        device.embed(table, tokens, out);
        end(KernelClass.EMBED, s);
    }

    @Override
    public void matmul(DeviceWeights w, DeviceBuffer x, DeviceBuffer out, int batch) {
        DeviceEvent s = start();
        device.matmul(w, x, out, batch);
        end(KernelClass.MATMUL, s);
    }

    @Override
    public void rmsnorm(DeviceBuffer out, DeviceBuffer x, DeviceBuffer weight, int n, int batch, float eps) {
        DeviceEvent s = start();
        device.rmsnorm(out, x, weight, n, batch, eps);
        end(KernelClass.RMSNORM, s);
    }

    @Override
    public void rope(DeviceBuffer vec, int nHeads, int headDim, int pos0, int batch, DeviceBuffer invFreq) {
        DeviceEvent s = start();
        device.rope(vec, nHeads, headDim, pos0, batch, invFreq);
        end(KernelClass.ROPE, s);
    }

    @Override
    public void attention(DeviceBuffer out, DeviceBuffer q, DeviceBuffer keys, DeviceBuffer values, int startPos, int batch,
                          int nHeads, int nKvHeads, int headDim) {
        DeviceEvent s = start();
        device.attention(out, q, keys, values, startPos, batch, nHeads, nKvHeads, headDim);
        end(KernelClass.ATTENTION, s);
    }

    @Override
    public void siluMul(DeviceBuffer gate, DeviceBuffer up, long n) {
        DeviceEvent s = start();
        device.siluMul(gate, up, n);
        end(KernelClass.ELEMENTWISE, s);
    }

    @Override
    public void add(DeviceBuffer acc, DeviceBuffer x, long n) {
        DeviceEvent s = start();
        device.add(acc, x, n);
        end(KernelClass.ELEMENTWISE, s);
    }

    // ---- everything else, the device's own ----

    @Override
    public DeviceSpec spec() { return device.spec(); }

    @Override
    public boolean allowsConcurrentSessions() { return device.allowsConcurrentSessions(); }

    @Override
    public DeviceBuffer allocate(long floats) { return device.allocate(floats); }

    @Override
    public DeviceWeights upload(WeightMatrix weights) { return device.upload(weights); }

    @Override
    public void requireCapacity(String what, long bytes) { device.requireCapacity(what, bytes); }

    // Blocks the executor's plan does not time kernel by kernel: the device's own handles.
    @Override
    public DevicePagedAttention uploadPagedAttention(AttentionWeights w, KvPoolSpec pool, int maxRows) {
        return device.uploadPagedAttention(w, pool, maxRows);
    }

    @Override
    public long pagedAttentionBytes(AttentionWeights w, KvPoolSpec pool, int maxRows) {
        return device.pagedAttentionBytes(w, pool, maxRows);
    }

    @Override
    public dev.tandem.runtime.device.DeviceFfn uploadMoeFfn(MoeFfnWeights w, int maxBatch) {
        return device.uploadMoeFfn(w, maxBatch);
    }

    @Override
    public long moeFfnBytes(MoeFfnWeights w, int maxBatch) {
        return device.moeFfnBytes(w, maxBatch);
    }

    @Override
    public void synchronize() { device.synchronize(); }

    @Override
    public DeviceEvent record() { return device.record(); }

    @Override
    public Optional<String> report() { return device.report(); }

    @Override
    public void close() { device.close(); }

    @Override
    public String toString() { return device.toString(); }
}
