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
 * <p>The counters are plain fields, read and written without synchronisation: a lost update from
 * concurrent callers only lets a call or two more run scalar, which changes no result.
 */
final class ColdStart {
    private ColdStart() {}

    /** Token passes per family that run scalar when tandem.coldWork is not set. */
    static final int DEFAULT_UNITS = 128;

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
    static final Gate OPS = new Gate("ops", UNITS);
    /** Weight matrices' matvec (batch 1). */
    static final Gate MATVECS = new Gate("matvecs", UNITS);
    /** Weight matrices' matmul of more than one row (prefill, batched decode), charged by rows. */
    static final Gate MATMULS = new Gate("matmuls", UNITS);
    /** dequantizeRow (embedding lookups, one per token). */
    static final Gate ROWS = new Gate("rows", UNITS);

    /** The matrix family of a call of this many rows (tokens). */
    static Gate matrices(int batch) {
        return batch == 1 ? MATVECS : MATMULS;
    }

    /** Whether a matrix call of batch tokens runs its twin (charging them to its family). */
    static boolean coldMatrix(int batch) {
        return matrices(batch).cold(batch);
    }

    /** Whether either matrix family is running its twins (see {@link Gate#running}). */
    static boolean matricesRunning() {
        return MATVECS.running() || MATMULS.running();
    }

    /** Tests: every gate runs the next units token passes as twins (0: vector forms only). */
    static void resetAll(long units) {
        OPS.reset(units);
        MATVECS.reset(units);
        MATMULS.reset(units);
        ROWS.reset(units);
    }
}
