package dev.tandem.kernels;

/**
 * Which form a kernel runs in a fresh JVM: its scalar twin ({@link ColdTwins}, or the integer
 * kernels' scalar references) for the first {@link KernelConfig#coldCalls()} calls of its family,
 * then its Vector API form. Twin and vector form give the same bits, so the switch cannot be seen in
 * any result; it only moves time.
 *
 * <p>Why: until C2 has compiled a Vector API kernel, every vector operation runs the API's Java
 * fallback (interpreted, then C1), which allocates and loops per operation and is tens of times
 * slower than plain scalar code; plain loops are compiled by C1 after a few thousand iterations
 * (the tiered thresholds) and by C2 soon after. A cold CLI run spent most of its time to the first
 * token there (docs/benchmarks.md, "Cold start").
 *
 * <p>Why a count of calls and not "until C2 has compiled the vector form": a vector kernel is only
 * compiled after it has run (HotSpot compiles on invocation and loop counts), and a JVM does not tell
 * a Java program which of its methods are compiled (short of the test-only WhiteBox API). A timer
 * would make the switch point depend on the machine's load. A count is reproducible, costs one
 * compare per call, and bounds the scalar phase to the same number of kernel calls everywhere: a
 * dense layer makes 7 matvecs and 6 Ops calls, so 128 calls cover the first token of a model with
 * up to 18 layers (stories110M has 12, TinyLlama 22); the vector forms' warm-up then happens on the
 * next tokens instead of before the first one. Families count separately so that per-row calls
 * (the embedding lookup) do not use up the budget of the per-layer ones.
 *
 * <p>The counters are plain fields, read and written without synchronisation: a lost increment from
 * concurrent callers only lets a call or two more run scalar, which changes no result.
 */
final class ColdStart {
    private ColdStart() {}

    /** Calls per family that run scalar when tandem.coldCalls is not set. */
    static final int DEFAULT_CALLS = 128;

    /** One family of kernels sharing a call budget. */
    static final class Gate {
        private final String name;
        private int limit;
        private int calls;

        Gate(String name, int limit) {
            this.name = name;
            this.limit = limit;
        }

        /** True when this call should run the scalar twin; counts the call. */
        boolean cold() {
            if (calls >= limit) {
                return false;
            }
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
            return calls > 0 && calls < limit;
        }

        /** Calls counted so far (at most the limit). */
        int calls() {
            return calls;
        }

        /** Tests: the next {@code n} calls run the twin (0: the vector form from now on). */
        void reset(int n) {
            limit = n;
            calls = 0;
        }

        @Override
        public String toString() {
            return name + " " + calls + "/" + limit;
        }
    }

    private static final int LIMIT = Vec.ENABLED ? KernelConfig.coldCalls() : 0;

    /** {@link Ops}' float ops (norms, attention, softmax, SiLU, residual adds). */
    static final Gate OPS = new Gate("ops", LIMIT);
    /** Weight matrices' matvec and matmul. */
    static final Gate MATRICES = new Gate("matrices", LIMIT);
    /** dequantizeRow (embedding lookups, one per token). */
    static final Gate ROWS = new Gate("rows", LIMIT);

    /** Tests: every gate runs the next n calls as twins (0: vector forms only). */
    static void resetAll(int n) {
        OPS.reset(n);
        MATRICES.reset(n);
        ROWS.reset(n);
    }
}
