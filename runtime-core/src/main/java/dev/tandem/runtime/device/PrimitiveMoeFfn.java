package dev.tandem.runtime.device;

import dev.tandem.runtime.model.ExpertFfn;
import dev.tandem.runtime.model.LlamaConfig;
import dev.tandem.runtime.model.MoeConfig;
import dev.tandem.runtime.model.MoeLayer;
import dev.tandem.runtime.model.MoeRouter;

import java.util.Arrays;

/**
 * The mixture-of-experts block every device gets for free ({@link Device#uploadMoeFfn}), composed of
 * the primitive ops and the FFN arithmetic of {@link PrimitiveBlocks.Ffn}: rmsnorm and the router's
 * matmul on the device; the router logits read back and routed on the host by {@link MoeRouter} (the
 * reference's routing, so both choose the same experts); then, expert by expert in ascending order,
 * the rows that chose it gathered by device copies, its FFN run over them as one matmul batch, and
 * its output read back and added to those rows' sums with their weights; the gated shared expert
 * last; the sums written back and added to x. A device that can route by itself (the LPU's own
 * program, say) returns its own handle instead; this one costs a host round trip per expert.
 */
final class PrimitiveMoeFfn extends PrimitiveBlocks.Owned implements DeviceFfn {
    private final LlamaConfig c;
    private final MoeConfig moe;
    private final MoeRouter router;
    private final int maxBatch;
    private DeviceWeights routerW, sharedGateW;
    private DeviceWeights[] gate, up, down; // per expert, then the shared expert at index experts
    // norm (dim); for maxBatch rows: xb (B, dim) normed input, logits (B, experts), gathered (B, dim)
    // rows of one expert, hb/hb2 (B, widest hidden), y (B, dim) an expert's output, acc (B, dim) the sums,
    // sharedLogit (B, 1).
    private DeviceBuffer norm, xb, logits, gathered, hb, hb2, y, acc, sharedLogit;
    // Host copies: the router logits, an expert's output, the sums, each row's choice.
    private final float[] hostLogits, hostY, hostAcc, hostShared;
    private final int[][] ids;
    private final float[][] weights;
    private final int[] rowsOfExpert, slotOfRow;

    PrimitiveMoeFfn(Device device, MoeFfnWeights w, int maxBatch) {
        super(device);
        if (maxBatch < 1) {
            throw new IllegalArgumentException("maxBatch must be >= 1, got " + maxBatch);
        }
        this.c = w.config();
        this.moe = c.arch().moe();
        this.router = new MoeRouter(moe);
        this.maxBatch = maxBatch;
        int dim = c.dim(), experts = moe.experts();
        MoeLayer layer = w.layer();
        guard(() -> {
            routerW = weights(layer.router());
            int n = experts + (layer.shared() != null ? 1 : 0);
            gate = new DeviceWeights[n];
            up = new DeviceWeights[n];
            down = new DeviceWeights[n];
            for (int e = 0; e < n; e++) {
                ExpertFfn f = e < experts ? layer.experts()[e] : layer.shared();
                gate[e] = weights(f.gate());
                up[e] = weights(f.up());
                down[e] = weights(f.down());
            }
            if (layer.shared() != null) {
                sharedGateW = weights(layer.sharedGate());
                sharedLogit = buffer(maxBatch);
            }
            norm = vector(w.norm());
            xb = buffer((long) maxBatch * dim);
            logits = buffer((long) maxBatch * experts);
            gathered = buffer((long) maxBatch * dim);
            hb = buffer((long) maxBatch * widest(moe));
            hb2 = buffer((long) maxBatch * widest(moe));
            y = buffer((long) maxBatch * dim);
            acc = buffer((long) maxBatch * dim);
        });
        hostLogits = new float[maxBatch * experts];
        hostY = new float[maxBatch * dim];
        hostAcc = new float[maxBatch * dim];
        hostShared = new float[maxBatch];
        ids = new int[maxBatch][moe.expertsUsed()];
        weights = new float[maxBatch][moe.expertsUsed()];
        rowsOfExpert = new int[maxBatch];
        slotOfRow = new int[maxBatch];
    }

    private static int widest(MoeConfig moe) {
        return Math.max(moe.expertHiddenDim(), moe.sharedHiddenDim());
    }

    static long bytes(MoeFfnWeights w, int maxBatch) {
        LlamaConfig c = w.config();
        MoeConfig moe = c.arch().moe();
        MoeLayer layer = w.layer();
        long weightBytes = layer.router().byteSize();
        for (ExpertFfn e : layer.experts()) {
            weightBytes += e.byteSize();
        }
        if (layer.shared() != null) {
            weightBytes += layer.shared().byteSize() + layer.sharedGate().byteSize();
        }
        return weightBytes + 4L * (c.dim() + (long) maxBatch * (5L * c.dim() + moe.experts() + 2L * widest(moe) + 1));
    }

    @Override
    public void run(DeviceBuffer x, int batch) {
        if (batch < 1 || batch > maxBatch) {
            throw new IllegalArgumentException("batch " + batch + " outside [1, " + maxBatch + "]");
        }
        int dim = c.dim(), experts = moe.experts(), k = moe.expertsUsed();
        device.rmsnorm(xb, x, norm, dim, batch, c.rmsEps());
        device.matmul(routerW, xb, logits, batch);
        device.read(logits, 0, hostLogits, 0, batch * experts);
        for (int b = 0; b < batch; b++) {
            router.route(hostLogits, b * experts, ids[b], weights[b]);
        }
        Arrays.fill(hostAcc, 0, batch * dim, 0f);
        for (int e = 0; e < experts; e++) {
            int m = 0;
            for (int b = 0; b < batch; b++) {
                for (int j = 0; j < k; j++) {
                    if (ids[b][j] == e) {
                        rowsOfExpert[m] = b;
                        slotOfRow[m++] = j;
                    }
                }
            }
            if (m == 0) {
                continue;
            }
            for (int i = 0; i < m; i++) {
                device.copy(xb, (long) rowsOfExpert[i] * dim, gathered, (long) i * dim, dim);
            }
            expert(e, gathered, m);
            for (int i = 0; i < m; i++) {
                int b = rowsOfExpert[i];
                MoeRouter.accumulate(hostAcc, b * dim, hostY, i * dim, dim, weights[b][slotOfRow[i]]);
            }
        }
        if (sharedGateW != null) {
            device.matmul(sharedGateW, xb, sharedLogit, batch);
            device.read(sharedLogit, 0, hostShared, 0, batch);
            expert(experts, xb, batch);
            for (int b = 0; b < batch; b++) {
                MoeRouter.accumulate(hostAcc, b * dim, hostY, b * dim, dim, MoeRouter.sharedGate(hostShared[b]));
            }
        }
        device.write(acc, 0, hostAcc, 0, batch * dim);
        device.add(x, acc, (long) batch * dim);
    }

    /** hostY[0, rows*dim) = down·(silu(gate·in) ⊙ up·in) for the first rows rows of in, expert e. */
    private void expert(int e, DeviceBuffer in, int rows) {
        device.matmul(gate[e], in, hb, rows);
        device.matmul(up[e], in, hb2, rows);
        device.siluMul(hb, hb2, (long) rows * gate[e].rows());
        device.matmul(down[e], hb, y, rows);
        device.read(y, 0, hostY, 0, rows * c.dim());
    }

    @Override
    public void close() { closeAll(); }
}
