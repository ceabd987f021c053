package dev.tandem.runtime.device;

import dev.tandem.runtime.model.LlamaConfig;

import java.util.ArrayList;
import java.util.List;

/**
 * What an architecture's options add between the q/k/v projections and the rotation, as primitive
 * ops on a device ({@link AttentionWeights#qkvOptions} on the host): biases added from buffers that
 * repeat them for every row (the add op has no broadcast), then q and k normalised per head, a head
 * being a row of headDim values of the (batch * heads, headDim) view of each buffer. Devices whose
 * attention blocks are built from their own kernels run it the same way as the primitive blocks.
 */
public final class QkvOptions implements AutoCloseable {
    private final LlamaConfig c;
    private final Device device;
    private final List<DeviceBuffer> owned = new ArrayList<>();
    private DeviceBuffer bq, bk, bv, qNorm, kNorm; // (maxBatch, qDim|kvDim) repeated biases; (headDim) norms

    private QkvOptions(Device device, AttentionWeights w) {
        this.c = w.config();
        this.device = device;
    }

    /** The options of w placed on device for up to maxBatch rows (nothing placed for a Llama block). */
    public static QkvOptions upload(Device device, AttentionWeights w, int maxBatch) {
        QkvOptions o = new QkvOptions(device, w);
        try {
            if (w.bq() != null) {
                o.bq = o.vector(repeat(w.bq(), maxBatch));
                o.bk = o.vector(repeat(w.bk(), maxBatch));
                o.bv = o.vector(repeat(w.bv(), maxBatch));
            }
            if (w.qNorm() != null) {
                o.qNorm = o.vector(w.qNorm());
                o.kNorm = o.vector(w.kNorm());
            }
        } catch (RuntimeException e) {
            o.close();
            throw e;
        }
        return o;
    }

    /** Adds the biases to, then normalises the heads of, the first batch rows of q, k and v. */
    public void apply(DeviceBuffer q, DeviceBuffer k, DeviceBuffer v, int batch) {
        if (bq != null) {
            device.add(q, bq, (long) batch * c.qDim());
            device.add(k, bk, (long) batch * c.kvDim());
            device.add(v, bv, (long) batch * c.kvDim());
        }
        if (qNorm != null) {
            device.rmsnorm(q, q, qNorm, c.headDim(), batch * c.nHeads(), c.rmsEps());
            device.rmsnorm(k, k, kNorm, c.headDim(), batch * c.nKvHeads(), c.rmsEps());
        }
    }

    /** Bytes the options place for maxBatch rows. */
    public static long bytes(AttentionWeights w, int maxBatch) {
        LlamaConfig c = w.config();
        return 4L * ((w.bq() != null ? (long) maxBatch * (c.qDim() + 2L * c.kvDim()) : 0)
                + (w.qNorm() != null ? 2L * c.headDim() : 0));
    }

    private DeviceBuffer vector(float[] values) {
        DeviceBuffer b = device.allocate(values.length);
        owned.add(b);
        device.write(b, 0, values, 0, values.length);
        return b;
    }

    private static float[] repeat(float[] v, int times) {
        float[] out = new float[v.length * times];
        for (int i = 0; i < times; i++) {
            System.arraycopy(v, 0, out, i * v.length, v.length);
        }
        return out;
    }

    @Override
    public void close() {
        for (int i = owned.size() - 1; i >= 0; i--) {
            owned.get(i).close();
        }
        owned.clear();
    }
}
