package dev.tandem.runtime.device;

import dev.tandem.runtime.model.LlamaConfig;

import java.util.ArrayList;
import java.util.List;

/**
 * The blocks every device gets for free: {@link DeviceAttention} and {@link DeviceFfn} as the
 * sequence of primitive ops the reference forward pass performs, in its order, so a device that
 * matches the primitives' references matches the reference forward pass. Each block owns scratch
 * for {@code maxBatch} rows.
 */
final class PrimitiveBlocks {
    private PrimitiveBlocks() {}

    /** Buffers and weights a block put on its device, freed in reverse. */
    static class Owned {
        final Device device;
        final List<AutoCloseable> owned = new ArrayList<>();

        Owned(Device device) { this.device = device; }

        DeviceBuffer buffer(long floats) {
            DeviceBuffer b = device.allocate(floats);
            owned.add(b);
            return b;
        }

        DeviceBuffer vector(float[] values) {
            DeviceBuffer b = buffer(values.length);
            device.write(b, 0, values, 0, values.length);
            return b;
        }

        <T extends AutoCloseable> T own(T resource) {
            owned.add(resource);
            return resource;
        }

        DeviceWeights weights(dev.tandem.kernels.WeightMatrix m) {
            DeviceWeights w = device.upload(m);
            owned.add(w);
            return w;
        }

        void closeAll() {
            for (int i = owned.size() - 1; i >= 0; i--) {
                try {
                    owned.get(i).close();
                } catch (RuntimeException e) {
                    throw e;
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
            owned.clear();
        }

        /** Runs setup, freeing what it placed when it fails part-way. */
        void guard(Runnable setup) {
            try {
                setup.run();
            } catch (RuntimeException e) {
                closeAll();
                throw e;
            }
        }
    }

    static final class Attention extends Owned implements DeviceAttention {
        final LlamaConfig c;
        final int maxPositions, maxBatch;
        DeviceWeights wq, wk, wv, wo;
        // norm (dim), invFreq (headDim/2), keys/values (maxPositions, kvDim); scratch for maxBatch rows:
        // xb (B, dim), q (B, qDim), k/v (B, kvDim), att (B, qDim), o (B, dim).
        DeviceBuffer norm, invFreq, keys, values, xb, q, k, v, att, o;
        QkvOptions options;

        Attention(Device device, AttentionWeights w, int maxPositions, int maxBatch) {
            super(device);
            this.c = w.config();
            this.maxPositions = maxPositions;
            this.maxBatch = maxBatch;
            int qDim = c.nHeads() * c.headDim(), kvDim = c.kvDim();
            guard(() -> {
                wq = weights(w.wq());
                wk = weights(w.wk());
                wv = weights(w.wv());
                wo = weights(w.wo());
                norm = vector(w.norm());
                invFreq = vector(w.ropeInvFreq());
                keys = buffer((long) maxPositions * kvDim);
                values = buffer((long) maxPositions * kvDim);
                xb = buffer((long) maxBatch * c.dim());
                q = buffer((long) maxBatch * qDim);
                k = buffer((long) maxBatch * kvDim);
                v = buffer((long) maxBatch * kvDim);
                att = buffer((long) maxBatch * qDim);
                o = buffer((long) maxBatch * c.dim());
                options = own(QkvOptions.upload(device, w, maxBatch));
            });
        }

        @Override
        public void run(DeviceBuffer x, int pos0, int batch) {
            int kvDim = c.kvDim(), headDim = c.headDim();
            device.rmsnorm(xb, x, norm, c.dim(), batch, c.rmsEps());
            device.matmul(wq, xb, q, batch);
            device.matmul(wk, xb, k, batch);
            device.matmul(wv, xb, v, batch);
            options.apply(q, k, v, batch);
            device.rope(q, c.nHeads(), headDim, pos0, batch, invFreq);
            device.rope(k, c.nKvHeads(), headDim, pos0, batch, invFreq);
            device.copy(k, 0, keys, (long) pos0 * kvDim, (long) batch * kvDim);
            device.copy(v, 0, values, (long) pos0 * kvDim, (long) batch * kvDim);
            device.attention(att, q, keys, values, pos0, batch, c.nHeads(), c.nKvHeads(), headDim);
            device.matmul(wo, att, o, batch);
            device.add(x, o, (long) batch * c.dim());
        }

        @Override
        public int maxPositions() { return maxPositions; }

        @Override
        public void readKv(int from, int count, float[] k, float[] v) {
            int kvDim = c.kvDim();
            device.read(keys, (long) from * kvDim, k, 0, count * kvDim);
            device.read(values, (long) from * kvDim, v, 0, count * kvDim);
        }

        @Override
        public void writeKv(int from, int count, float[] k, float[] v) {
            int kvDim = c.kvDim();
            device.write(keys, (long) from * kvDim, k, 0, count * kvDim);
            device.write(values, (long) from * kvDim, v, 0, count * kvDim);
        }

        @Override
        public void close() { closeAll(); }
    }

    static final class Ffn extends Owned implements DeviceFfn {
        final LlamaConfig c;
        final int maxBatch;
        DeviceWeights w1, w3, w2;
        // norm (dim); scratch for maxBatch rows: xb (B, dim), hb/hb2 (B, hidden), o (B, dim).
        DeviceBuffer norm, xb, hb, hb2, o;

        Ffn(Device device, FfnWeights w, int maxBatch) {
            super(device);
            this.c = w.config();
            this.maxBatch = maxBatch;
            guard(() -> {
                w1 = weights(w.w1());
                w3 = weights(w.w3());
                w2 = weights(w.w2());
                norm = vector(w.norm());
                xb = buffer((long) maxBatch * c.dim());
                hb = buffer((long) maxBatch * c.hiddenDim());
                hb2 = buffer((long) maxBatch * c.hiddenDim());
                o = buffer((long) maxBatch * c.dim());
            });
        }

        @Override
        public void run(DeviceBuffer x, int batch) {
            device.rmsnorm(xb, x, norm, c.dim(), batch, c.rmsEps());
            device.matmul(w1, xb, hb, batch);
            device.matmul(w3, xb, hb2, batch);
            device.siluMul(hb, hb2, (long) batch * c.hiddenDim());
            device.matmul(w2, hb, o, batch);
            device.add(x, o, (long) batch * c.dim());
        }

        @Override
        public void close() { closeAll(); }
    }

    /** Bytes an attention block holds: weights, norm, rope, the KV cache, its scratch and its options. */
    static long attentionBytes(AttentionWeights w, int maxPositions, int maxBatch) {
        LlamaConfig c = w.config();
        long qDim = (long) c.nHeads() * c.headDim();
        return QkvOptions.bytes(w, maxBatch) + w.wq().byteSize() + w.wk().byteSize() + w.wv().byteSize() + w.wo().byteSize()
                + 4L * (c.dim() + c.headDim() / 2 + 2L * maxPositions * c.kvDim()
                + (long) maxBatch * (2L * c.dim() + 2 * qDim + 2L * c.kvDim()));
    }

    static long ffnBytes(FfnWeights w, int maxBatch) {
        LlamaConfig c = w.config();
        return w.w1().byteSize() + w.w3().byteSize() + w.w2().byteSize()
                + 4L * (c.dim() + (long) maxBatch * (2L * c.dim() + 2L * c.hiddenDim()));
    }
}
