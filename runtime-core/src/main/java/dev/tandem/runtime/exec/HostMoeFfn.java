package dev.tandem.runtime.exec;

import dev.tandem.kernels.Ops;
import dev.tandem.runtime.model.ExpertFfn;
import dev.tandem.runtime.model.LlamaConfig;
import dev.tandem.runtime.model.MoeConfig;
import dev.tandem.runtime.model.MoeLayer;
import dev.tandem.runtime.model.MoeRouter;

import java.util.Arrays;

/**
 * The specification of a mixture-of-experts FFN for one token, on the host: route, run the chosen
 * experts, sum their outputs weighted and in ascending expert order, add the gated shared expert,
 * then add the sum to the residual stream. Scratch for one token; not thread-safe. Public as the
 * reference other executors' mixture blocks are checked against.
 */
public final class HostMoeFfn {
    private final int dim;
    private final MoeRouter router;
    private final float[] routerLogits; // (experts)
    private final int[] ids;            // (expertsUsed)
    private final float[] weights;      // (expertsUsed)
    private final float[] gate, up;     // (widest expert)
    private final float[] y;            // (dim) one expert's output
    private final float[] acc;          // (dim) the weighted sum
    private final float[] sharedLogit = new float[1];

    public HostMoeFfn(LlamaConfig c) {
        MoeConfig moe = c.arch().moe();
        this.dim = c.dim();
        this.router = new MoeRouter(moe);
        this.routerLogits = new float[moe.experts()];
        this.ids = new int[moe.expertsUsed()];
        this.weights = new float[moe.expertsUsed()];
        int widest = Math.max(moe.expertHiddenDim(), moe.sharedHiddenDim());
        gate = new float[widest];
        up = new float[widest];
        y = new float[dim];
        acc = new float[dim];
    }

    /** x[xOff, +dim) += moe(n) for the normed input n = in[inOff, +dim). */
    public void run(MoeLayer layer, float[] in, int inOff, float[] x, int xOff) {
        layer.router().matvec(in, inOff, routerLogits, 0);
        router.route(routerLogits, 0, ids, weights);
        Arrays.fill(acc, 0f);
        for (int j = 0; j < ids.length; j++) {
            expert(layer.experts()[ids[j]], in, inOff);
            MoeRouter.accumulate(acc, 0, y, 0, dim, weights[j]);
        }
        if (layer.shared() != null) {
            layer.sharedGate().matvec(in, inOff, sharedLogit, 0);
            expert(layer.shared(), in, inOff);
            MoeRouter.accumulate(acc, 0, y, 0, dim, MoeRouter.sharedGate(sharedLogit[0]));
        }
        Ops.addInPlace(x, xOff, acc, 0, dim);
    }

    /** y = down·(silu(gate·n) ⊙ up·n) */
    private void expert(ExpertFfn e, float[] in, int inOff) {
        e.gate().matvec(in, inOff, gate, 0);
        e.up().matvec(in, inOff, up, 0);
        Ops.siluMul(gate, 0, up, 0, e.hiddenDim());
        e.down().matvec(gate, 0, y, 0);
    }
}
