package dev.tandem.kernels;

/**
 * Which form a kernel runs in a fresh JVM: its scalar twin ({@link ColdTwins}, or the integer
 * kernels' scalar references) for the first {@link KernelConfig#coldWork()} token passes of its
 * family, then its Vector API form. Twin and vector form give the same bits, so the switch cannot be
 * seen in any result; it only moves time.
 *
 * <p>Why: until C2 has compiled a Vector API kernel, every vector operation runs the API's Java
 * fallback (interpreted, then C1), which allocates and loops per operation and is tens of times
 * slower than plain scalar code; plain loops are compiled by C1 after a few thousand iterations
 * (the tiered thresholds) and by C2 soon after. A cold CLI run spent most of its time to the first
 * token there (docs/benchmarks.md, "Cold start").
 *
 * <p>Why a count and not "until C2 has compiled the vector form": a vector kernel is only compiled
 * after it has run (HotSpot compiles on invocation and loop counts), and a JVM does not tell a Java
 * program which of its methods are compiled (short of the test-only WhiteBox API). A timer would make
 * the switch point depend on the machine's load. A count is reproducible and costs one compare per call.
 *
 * <p>Why a count of work and not of calls: the twins run at scalar speed, so what they cost is the
 * work they do. The budget used to count calls (128 a family until session 8): that covered the
 * first token of a decode, but a first prefill of 256 tokens made the same 128 calls with 256 times
 * a token's work each, and ran as scalar twins for seconds. Each call now charges the tokens it
 * processes (a matmul its batch, a matvec 1, a batched attention its rows; a per-row Ops call or row
 * lookup 1), in units of one token through one kernel call. For decode that is the old count, so the
 * default of 128 still covers the first token of a model with up to ~18 layers (a dense layer makes
 * 4-7 matrix calls and ~6 Ops calls; stories110M has 12 layers, TinyLlama 22), and the vector forms'
 * warm-up happens on the next tokens instead of before the first one. Work per unit grows with the
 * model, as does the C2 warm-up it stands in for (both are loop iterations over the same rows). A
 * call runs its twin only when it fits in what is left of the budget; the first one that does not
 * fit spends the rest, so a 256-token prefill call goes to the vector form at once (its own loops then
 * warm it up), and no prefill runs more than a budget's worth of token passes as scalar twins.
 *
 * <p>Batch-1 matrix calls (matvec: the decode kernels) and batched ones (matmul: the token-tiled
 * prefill kernels) are separate families, since they run different vector kernels that warm up
 * separately: a prompt's prefill does not use up the first decode token's twins. Families count
 * separately also so that per-row calls (the embedding lookup) do not use up the per-layer budgets.
 *
 * <p>Why the batched family counts multiply-adds, and why a prefill can claim its whole work ahead:
 * a cold vector matmul costs about a fixed amount (C2's warm-up: ~1.5 s for stories110M, ~3 s for
 * TinyLlama on the 2-core VM, whatever the prompt), the twins a time proportional to their
 * multiply-adds. Measured cold first tokens of `generate` (session 9, docs/benchmarks.md "Cold start
 * with real prompts") put the crossover at 3-5 G multiply-adds for both shapes while the twins ran
 * ~2 G a second; the batched twin ({@link TwinGemm}, session 20) runs ~4 G a second, and a 48-token
 * stories110M prompt (4.1 G) then reached its first token in 1.0-1.2 s as twins against 1.5-1.7 s
 * as cold vector forms, a 5-token TinyLlama one (4.9 G) in 1.7-2.0 s against 2.8-4.3 s. So the
 * budget is {@link #MATMUL_MACS_PER_UNIT} multiply-adds per unit (6.1 G at the default): a short
 * prompt's prefill runs as twins, a long one's as the vector forms. A budget in
 * token passes (session 8) let a 2-token stories110M prompt spend it two thirds of the way through
 * the layers, and the rest of that prefill ran cold vector forms: 1.2 s instead of 0.19 s. And since
 * the worst case is such a mix (twins until the budget runs out, then cold vector forms), a caller
 * that knows a prefill's whole work says so first ({@link #expectBatchedWork}), and a prefill that
 * does not fit runs the vector forms from its first call.
 *
 * <p>The float ops are cheap next to the matrices and their twins with them, so their budget, in
 * token passes, is {@link #OPS_PASSES_PER_UNIT} times the matrices': a prompt whose matrices run
 * as twins runs its norms and attention as twins too (~8 passes a layer a token).
 *
 * <p>The counters are plain fields, read and written without synchronisation: a lost update from
 * concurrent callers only lets a call or two more run scalar, which changes no result.
 */
public final class ColdStart {
    private ColdStart() {}

    /** Token passes per family that run scalar when tandem.coldWork is not set. */
    static final int DEFAULT_UNITS = 128;

    /** Multiply-adds of batched matrix work per unit of tandem.coldWork (6.1 G at the default 128). */
    static final long MATMUL_MACS_PER_UNIT = 48_000_000L;

    /** Token passes of float ops per unit of tandem.coldWork (4096 at the default). */
    static final long OPS_PASSES_PER_UNIT = 32;

    /** One family of kernels sharing a budget of work. */
    static final class Gate {
        private final String name;
        private long budget;
        private long spent;
        private int calls;

        Gate(String name, long budget) {
            this.name = name;
            this.budget = budget;
        }

        /**
         * True when this call, of the given work, should run the scalar twin: it fits in what is left
         * of the budget, and is charged. A call that does not fit spends the budget, so every later
         * call runs the vector form.
         */
        boolean cold(long work) {
            if (spent >= budget) {
                return false;
            }
            if (work > budget - spent) {
                spent = budget;
                return false;
            }
            spent += Math.max(1, work);
            calls++;
            return true;
        }

        /**
         * True while the twins are running: at least one call ran its twin and the budget is not
         * spent (reads the count, counts nothing). Before the first call it is false, so a model
         * whose matrices have no twin (F32, say), which never counts a call, is never taken for a
         * cold one.
         */
        boolean running() {
            return calls > 0 && spent < budget;
        }

        /** Spends what is left: every later call runs the vector form. */
        void spend() {
            spent = budget;
        }

        long budget() {
            return budget;
        }

        /** Calls that ran their twin so far. */
        int calls() {
            return calls;
        }

        /** Work charged so far (at most the budget). */
        long spent() {
            return spent;
        }

        /** Tests: the next {@code budget} units of work run the twin (0: the vector form from now on). */
        void reset(long budget) {
            this.budget = budget;
            spent = 0;
            calls = 0;
        }

        @Override
        public String toString() {
            return name + " " + spent + "/" + budget + " in " + calls + " calls";
        }
    }

    private static final long UNITS = Vec.ENABLED ? KernelConfig.coldWork() : 0;

    /** {@link Ops}' float ops (norms, attention, softmax, SiLU, residual adds). */
    static final Gate OPS = new Gate("ops", UNITS * OPS_PASSES_PER_UNIT);
    /** Weight matrices' matvec (batch 1). */
    static final Gate MATVECS = new Gate("matvecs", UNITS);
    /** Weight matrices' matmul of more than one row (prefill, batched decode), charged by multiply-adds. */
    static final Gate MATMULS = new Gate("matmuls", UNITS * MATMUL_MACS_PER_UNIT);
    /** dequantizeRow (embedding lookups, one per token). */
    static final Gate ROWS = new Gate("rows", UNITS);

    /** The matrix family of a call of this many rows (tokens). */
    static Gate matrices(int batch) {
        return batch == 1 ? MATVECS : MATMULS;
    }

    /**
     * Whether a matrix call of batch tokens through a matrix of macsPerToken multiply-adds (rows x
     * cols) runs its twin, charging it to its family: a matvec 1, a matmul its multiply-adds.
     */
    static boolean coldMatrix(int batch, long macsPerToken) {
        if (batch == 1) {
            return MATVECS.cold(1);
        }
        long work;
        try {
            work = Math.multiplyExact(batch, macsPerToken);
        } catch (ArithmeticException tooMuch) {
            work = Long.MAX_VALUE;
        }
        return MATMULS.cold(work);
    }

    /**
     * A caller about to run multiplyAdds of batched matrix work in one go (a prompt's prefill: its
     * tokens times the multiply-adds of every matrix a token passes through) says so here. When it
     * does not fit in what is left of the batched budget, the budget and the float ops' are spent
     * now, so the whole of it runs the vector forms instead of twins first and cold vector forms
     * after. When it fits, nothing changes: its calls are charged as they come. Results are the
     * same bits either way; only the time moves.
     */
    public static void expectBatchedWork(long multiplyAdds) {
        if (multiplyAdds < 0) {
            throw new IllegalArgumentException("multiplyAdds must be >= 0, got " + multiplyAdds);
        }
        if (MATMULS.spent() < MATMULS.budget() && multiplyAdds > MATMULS.budget() - MATMULS.spent()) {
            MATMULS.spend();
            OPS.spend();
        }
    }

    /**
     * Ends every family's twins: from now on every kernel runs its vector form. For callers that
     * measure warm throughput (tandem bench): the twins exist for the first token of a fresh run,
     * and a prefill-only benchmark, whose one batch-1 call per prompt is the classifier's matvec,
     * would otherwise run that matvec as a scalar twin in every repetition (128 calls).
     */
    public static void endTwins() {
        OPS.spend();
        MATVECS.spend();
        MATMULS.spend();
        ROWS.spend();
    }

    /** Whether either matrix family is running its twins (see {@link Gate#running}). */
    static boolean matricesRunning() {
        return MATVECS.running() || MATMULS.running();
    }

    /** Tests: every gate gets the budget of tandem.coldWork=units (0: vector forms only). */
    static void resetAll(long units) {
        OPS.reset(units * OPS_PASSES_PER_UNIT);
        MATVECS.reset(units);
        MATMULS.reset(units * MATMUL_MACS_PER_UNIT);
        ROWS.reset(units);
    }
}
