package dev.tandem.kernels;

import jdk.incubator.vector.FloatVector;

/**
 * Process-wide kernel settings read once from system properties.
 * tandem.vectorBits: 0 forces the scalar paths; unset means the preferred species size.
 * tandem.threads: worker count for {@link Parallel}; unset means all available processors.
 * tandem.spinMicros: how long idle workers spin before parking; default 1000.
 * tandem.quantDot: int8 (default) or float: how Q8_0/Q4_0 matrices multiply activations (see
 * {@link Q8Activations}); float keeps the fp32-activation path for comparison.
 * tandem.coldWork: how much work of each kernel family runs its scalar twin before the vector form,
 * in units (a matvec or row lookup 1, a float op's token pass 1/32, a batched matmul's 24 M
 * multiply-adds 1; see {@link ColdStart}); default 128, 0 turns the twins off.
 * tandem.tokenTiles: true (default) or false: whether batched matmuls use the token-tiled kernels
 * ({@link IntGemm}, {@link TokenGemm}, {@link KQuantGemm}); false keeps the per-row ones, for A/B runs
 * (both give the same bits).
 * tandem.rowGemm: false (default) or true: whether Q8_0/Q4_0 matmuls of {@link IntRowGemm#MIN_BATCH}
 * rows up to IntGemm's batches decode each weight row once for all tokens ({@link IntRowGemm}) instead
 * of running the per-row integer kernel; same bits. Off by default: on the AVX2 VM it measured no
 * faster (docs/benchmarks.md, "Batched decode of 8-63 rows"); on for A/B runs on other machines.
 * tandem.shortRows: true (default) or false: whether Q8_0/Q4_0 matmuls of 2 tokens up to IntGemm's
 * batches widen each weight row once into shorts ({@link ShortRowGemm}); false keeps the per-row
 * integer kernel, for A/B runs (same bits).
 *
 * tandem.fourRowTiles: auto (default: on 512-bit vectors), true or false: whether the Q8_0/Q4_0 token
 * tiles take a group's 4 rows in one pass ({@link IntGemm#FOUR_ROWS}); same bits either way.
 *
 * tandem.tokenVectors: auto (default: on 512-bit vectors, the batches where it measured faster, see
 * {@link TokenVectorGemm#serves}), true (every batch from 2 below IntGemm's) or false: whether Q8_0/Q4_0
 * batched matmuls use the float token tile of one vector ({@link TokenVectorGemm}); same bits.
 *
 * tandem.rowLanes: true (default) or false: whether Q8_0/Q4_0 batched matmuls run with 16 weight rows in
 * a vector's lanes and the tokens broadcast ({@link RowLaneGemm}, every batch from 2 on vectors of 256
 * bits and more) or on the kernels before it (IntGemm, TokenVectorGemm, TokenRows, ...); same bits.
 *
 * tandem.rowLaneNibbles: true (default) or false: whether a Q4_0 matrix's {@link RowLaneCopy} holds two
 * weights a byte (half the memory) or one; same bits.
 *
 * tandem.kquantTile: auto (default: the measured dispatch, see {@link KQuantGemm#tile}), off (the dispatch
 * before the one-vector tile: Q6_KRowGemm or the per-row kernel below {@link KQuantGemm#minBatch}, the
 * two-vector tile from there), one or two (every K-quant batch from 2 takes {@link KQuantGemm}'s
 * one-vector or two-vector tile): for A/B runs and the test JVMs; same bits either way.
 *
 * tandem.tokenGemmRows: auto (default: 8 on 512-bit vectors, else 4), 4 or 8: the weight rows per
 * register tile of the F16/BF16 token-tiled matmul ({@link TokenGemm#R}); same bits either way.
 *
 * tandem.tokenPairs: true (default) or false: whether, on 512-bit vectors, those matmuls from 3 tokens
 * put two tokens in each vector ({@link TokenPairGemm}) instead of ShortRowGemm's 256-bit form (same bits).
 *
 * tandem.pairRows: true (default) or false: whether the Q8_0, Q4_0, Q4_K, Q5_K and Q6_K batch-1
 * kernels run on a copy of the weights with row pairs interleaved ({@link PairedRows}); false keeps
 * the file's layout, for A/B runs (same bits).
 *
 * tandem.f16OnePass: true (default) or false: whether F16 batch-1 dots convert halves in registers
 * ({@link F16Matrix}); false converts a row into a buffer first, then multiplies, for A/B runs (same bits).
 *
 * tandem.f16Resident: true (default) or false: whether F16 batch-1 dots read a native copy of the
 * halves ({@link ResidentMemory}, within tandem.residentBytes: auto, a quarter of the machine's memory,
 * or a byte count) rather than the mapping, for A/B runs (same bits).
 *
 * tandem.bf16Resident: true (default) or false: the same for BF16's batch-1 dots ({@link BF16Matrix}).
 *
 * tandem.tokenRows: auto (default), 0 or a batch size: the largest batch that runs as batch-1 passes
 * over cache-sized row blocks ({@link TokenRows}); auto takes each format's own (same bits).
 *
 * tandem.widePairs: true (default) or false: whether the paired-row kernels take their 512-bit form
 * ({@link PairLanes}) where the float species is 512 bits; false keeps the 256-bit form, for A/B runs
 * (same bits).
 *
 * tandem.readAhead: bytes ahead that the Q8_0 batch-1 kernel touches the weights it streams
 * ({@link ReadAhead}); default 512, 0 turns it off (same bits either way).
 *
 * tandem.readAheadMinBytes: the smallest matrix that reads ahead (default 256 KiB; smaller ones stay in
 * cache, where the loads only cost); the kernel tests set 0 so that their small matrices run the loads.
 *
 * tandem.decodePaired: true (default) or false: whether Q8_0's batched matmuls decode their weights from
 * the batch-1 kernels' paired copy ({@link PairedRows}, built then if it is not yet) rather than from the
 * file's mapping; for A/B runs (same bits).
 *
 * tandem.objectAlignment: the JVM's object alignment in bytes, as set by -XX:ObjectAlignmentInBytes
 * (default 8, HotSpot's); ./tandem passes 64 with that flag so that the kernels' scratch arrays can
 * start their vectors on cache lines ({@link AlignedFloats}). Speed only: a wrong value misplaces no
 * result.
 *
 * <p>Both are read once, when this class initialises, because the kernels keep their vector species in
 * static finals (so C2 can constant-fold them). An unusable value is reported on stderr and replaced by
 * the default rather than failing class initialisation, which would surface as an opaque
 * ExceptionInInitializerError deep inside a kernel.
 */
public final class KernelConfig {
    private KernelConfig() {}

    private static final int VECTOR_BITS = readVectorBits(System.getProperty("tandem.vectorBits"));
    private static final int THREADS = readThreads(System.getProperty("tandem.threads"));
    private static final boolean DECODE_PAIRED = !"false".equals(System.getProperty("tandem.decodePaired", "true").trim());

    /** Whether batched Q8_0 matmuls decode their weights from the paired copy (tandem.decodePaired, default true). */
    static boolean decodePaired() { return DECODE_PAIRED; }

    private static final int OBJECT_ALIGNMENT = readObjectAlignment(System.getProperty("tandem.objectAlignment"));

    /** The JVM's object alignment in bytes as tandem.objectAlignment states it (8 where unset). */
    static int objectAlignment() { return OBJECT_ALIGNMENT; }

    static int readObjectAlignment(String value) {
        if (value == null || value.isBlank()) {
            return 8;
        }
        try {
            int bytes = Integer.parseInt(value.trim());
            if (bytes >= 8 && bytes <= 256 && Integer.bitCount(bytes) == 1) {
                return bytes;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        System.err.println("tandem: ignoring tandem.objectAlignment=" + value + " (a power of two, 8 to 256); using 8");
        return 8;
    }

    /** Bit size of the float species the kernels use, or 0 for the scalar paths (64, 128, 256 or 512). */
    public static int vectorBits() { return VECTOR_BITS; }

    /** Threads {@link Parallel} runs on, counting the calling thread; at least 1. */
    public static int threads() { return THREADS; }

    private static final long SPIN_MICROS = Math.max(0, Long.getLong("tandem.spinMicros", 1000));

    /** tandem.spinMicros: how long idle pool workers spin before parking (default 1000). */
    public static long spinMicros() { return SPIN_MICROS; }

    private static final boolean INTEGER_DOT = readIntegerDot(System.getProperty("tandem.quantDot"));

    /**
     * True (the default, tandem.quantDot=int8) when Q8_0 and Q4_0 matrices quantize activations to
     * 8-bit blocks and multiply integers; false (tandem.quantDot=float) for fp32 activations.
     */
    public static boolean integerDot() { return INTEGER_DOT; }

    private static final int COLD_WORK = readColdWork(System.getProperty("tandem.coldWork"));

    /** tandem.coldWork: token passes per kernel family that run the scalar twins first (0: none). */
    public static int coldWork() { return COLD_WORK; }

    static int readColdWork(String value) {
        if (value == null || value.isBlank()) {
            return ColdStart.DEFAULT_UNITS;
        }
        try {
            int n = Integer.parseInt(value.trim());
            if (n >= 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        return warn("tandem.coldWork", value, ColdStart.DEFAULT_UNITS);
    }
    private static final boolean TOKEN_TILES = !"false".equals(System.getProperty("tandem.tokenTiles", "true").trim());

    /** tandem.tokenTiles (default true): whether batched matmuls may use the token-tiled kernels. */
    public static boolean tokenTiles() { return TOKEN_TILES; }

    private static final boolean ROW_GEMM = "true".equals(System.getProperty("tandem.rowGemm", "false").trim());

    /** tandem.rowGemm (default false): whether small Q8_0/Q4_0 batches may use {@link IntRowGemm}. */
    public static boolean rowGemm() { return ROW_GEMM; }

    private static final int TOKEN_ROWS = readTokenRows(System.getProperty("tandem.tokenRows"));

    /** auto (or unset): -1; a batch size: itself (0: never); anything else: auto, with a warning. */
    static int readTokenRows(String value) {
        if (value == null || value.trim().equals("auto")) {
            return -1;
        }
        try {
            int n = Integer.parseInt(value.trim());
            return n >= 0 ? n : warn("tandem.tokenRows", value, -1);
        } catch (NumberFormatException e) {
            return warn("tandem.tokenRows", value, -1);
        }
    }

    /**
     * tandem.tokenRows: auto (-1, the default: each format's own largest batch) or the largest batch,
     * for every format, that runs as batch-1 passes over cache-sized row blocks ({@link TokenRows}); 0 for none.
     */
    public static int tokenRows() { return TOKEN_ROWS; }

    private static final boolean TOKEN_PAIRS = !"false".equals(System.getProperty("tandem.tokenPairs", "true").trim());

    /**
     * tandem.tokenPairs (default true): whether small Q8_0/Q4_0 batches on 512-bit vectors use
     * {@link TokenPairGemm} (two tokens a vector) instead of {@link ShortRowGemm}; false for A/B runs (same bits).
     */
    public static boolean tokenPairs() { return TOKEN_PAIRS; }

    private static final int FOUR_ROW_TILES = readFourRowTiles(System.getProperty("tandem.fourRowTiles"));

    /** tandem.fourRowTiles: 1 (true), 0 (false) or -1 (auto, the default: {@link IntGemm} decides by width). */
    static int fourRowTiles() { return FOUR_ROW_TILES; }

    static int readFourRowTiles(String value) {
        return readAutoSwitch("tandem.fourRowTiles", value);
    }

    /** An auto/true/false switch: -1 for auto (also when unset or not a value, with a warning), 1 or 0. */
    private static int readAutoSwitch(String property, String value) {
        if (value == null || value.isBlank() || value.trim().equals("auto")) {
            return -1;
        }
        return switch (value.trim()) {
            case "true" -> 1;
            case "false" -> 0;
            default -> {
                System.err.println("tandem: ignoring " + property + "=" + value + " (auto, true or false); using auto");
                yield -1;
            }
        };
    }

    private static final int TOKEN_VECTORS = readTokenVectors(System.getProperty("tandem.tokenVectors"));

    /**
     * tandem.tokenVectors: 1 (true: every batch from 2 below IntGemm's, for the test JVMs), 0 (false) or -1
     * (auto, the default: {@link TokenVectorGemm}'s measured batches on 512-bit vectors); same bits either way.
     */
    static int tokenVectors() { return TOKEN_VECTORS; }

    static int readTokenVectors(String value) {
        return readAutoSwitch("tandem.tokenVectors", value);
    }

    private static final boolean ROW_LANES = !"false".equals(System.getProperty("tandem.rowLanes", "true").trim());

    /** tandem.rowLanes (default true): whether Q8_0/Q4_0 batched matmuls may use {@link RowLaneGemm}. */
    static boolean rowLanes() { return ROW_LANES; }

    private static final boolean ROW_LANE_NIBBLES = !"false".equals(System.getProperty("tandem.rowLaneNibbles", "true").trim());

    /** tandem.rowLaneNibbles (default true): whether a Q4_0 row-lane copy holds two weights a byte rather than one. */
    static boolean rowLaneNibbles() { return ROW_LANE_NIBBLES; }

    static final int KQUANT_TILE_AUTO = -1, KQUANT_TILE_OFF = 0, KQUANT_TILE_ONE = 1, KQUANT_TILE_TWO = 2;
    private static final int KQUANT_TILE = readKquantTile(System.getProperty("tandem.kquantTile"));

    /** tandem.kquantTile: {@link #KQUANT_TILE_AUTO} (the default), _OFF, _ONE or _TWO. */
    static int kquantTile() { return KQUANT_TILE; }

    static int readKquantTile(String value) {
        if (value == null || value.isBlank()) {
            return KQUANT_TILE_AUTO;
        }
        return switch (value.trim()) {
            case "auto" -> KQUANT_TILE_AUTO;
            case "off" -> KQUANT_TILE_OFF;
            case "one" -> KQUANT_TILE_ONE;
            case "two" -> KQUANT_TILE_TWO;
            default -> {
                System.err.println("tandem: ignoring tandem.kquantTile=" + value + " (auto, off, one or two); using auto");
                yield KQUANT_TILE_AUTO;
            }
        };
    }

    private static final int TOKEN_GEMM_ROWS = readTokenGemmRows(System.getProperty("tandem.tokenGemmRows"));

    /** tandem.tokenGemmRows: 4, 8, or 0 (auto, the default: {@link TokenGemm} decides by width). */
    static int tokenGemmRows() { return TOKEN_GEMM_ROWS; }

    static int readTokenGemmRows(String value) {
        if (value == null || value.isBlank() || value.trim().equals("auto")) {
            return 0;
        }
        return switch (value.trim()) {
            case "4" -> 4;
            case "8" -> 8;
            default -> {
                System.err.println("tandem: ignoring tandem.tokenGemmRows=" + value + " (auto, 4 or 8); using auto");
                yield 0;
            }
        };
    }

    private static final boolean SHORT_ROWS = !"false".equals(System.getProperty("tandem.shortRows", "true").trim());

    /** tandem.shortRows (default true): whether small Q8_0/Q4_0 batches use {@link ShortRowGemm}. */
    public static boolean shortRows() { return SHORT_ROWS; }

    private static final boolean PAIR_ROWS = !"false".equals(System.getProperty("tandem.pairRows", "true").trim());

    /** Whether the Q8_0/Q4_0/Q4_K/Q5_K/Q6_K batch-1 kernels run on a paired copy of the rows ({@link PairedRows}); same bits either way. */
    public static boolean pairRows() { return PAIR_ROWS; }

    private static final boolean F16_ONE_PASS = !"false".equals(System.getProperty("tandem.f16OnePass", "true").trim());

    /** tandem.f16OnePass (default true): whether F16 batch-1 dots convert halves in registers. */
    public static boolean f16OnePass() { return F16_ONE_PASS; }

    private static final boolean F16_RESIDENT = !"false".equals(System.getProperty("tandem.f16Resident", "true").trim());

    /** tandem.f16Resident (default true): whether F16 batch-1 dots read a native copy of the halves rather than the mapping (same bits). */
    public static boolean f16Resident() { return F16_RESIDENT; }

    private static final boolean BF16_RESIDENT = !"false".equals(System.getProperty("tandem.bf16Resident", "true").trim());

    /** tandem.bf16Resident (default true): F16's switch for BF16's batch-1 dots ({@link BF16Matrix}). */
    public static boolean bf16Resident() { return BF16_RESIDENT; }

    private static final boolean WIDE_PAIRS = !"false".equals(System.getProperty("tandem.widePairs", "true").trim());

    /** tandem.widePairs (default true): whether the paired-row kernels may take their 512-bit form ({@link PairLanes}). */
    public static boolean widePairs() { return WIDE_PAIRS; }

    private static final long READ_AHEAD = readReadAhead(System.getProperty("tandem.readAhead"));

    /** tandem.readAhead (default {@link #DEFAULT_READ_AHEAD} bytes, 0: off): see {@link ReadAhead}. */
    public static long readAheadBytes() { return READ_AHEAD; }

    static final long DEFAULT_READ_AHEAD = 512;

    private static final long READ_AHEAD_MIN_BYTES = readReadAheadMinBytes(System.getProperty("tandem.readAheadMinBytes"));

    /** tandem.readAheadMinBytes (default {@link #DEFAULT_READ_AHEAD_MIN_BYTES}): see {@link ReadAhead#streams}. */
    public static long readAheadMinBytes() { return READ_AHEAD_MIN_BYTES; }

    static final long DEFAULT_READ_AHEAD_MIN_BYTES = 256 * 1024;

    static long readReadAheadMinBytes(String value) {
        if (value == null || value.isBlank()) {
            return DEFAULT_READ_AHEAD_MIN_BYTES;
        }
        try {
            long n = Long.parseLong(value.trim());
            if (n >= 0) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        return warn("tandem.readAheadMinBytes", value, (int) DEFAULT_READ_AHEAD_MIN_BYTES);
    }

    static long readReadAhead(String value) {
        if (value == null || value.isBlank()) {
            return DEFAULT_READ_AHEAD;
        }
        try {
            long n = Long.parseLong(value.trim());
            if (n >= 0 && n <= 1 << 20) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        return warn("tandem.readAhead", value, (int) DEFAULT_READ_AHEAD);
    }

    static boolean readIntegerDot(String value) {
        if (value == null || value.isBlank() || value.trim().equals("int8")) {
            return true;
        }
        if (value.trim().equals("float")) {
            return false;
        }
        System.err.println("tandem: ignoring tandem.quantDot=" + value + " (expected int8 or float); using int8");
        return true;
    }

    static int readVectorBits(String value) {
        int preferred = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        if (value == null || value.isBlank()) {
            return preferred;
        }
        int bits;
        try {
            bits = Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            return warn("tandem.vectorBits", value, preferred);
        }
        // Species below 64 bits do not exist; above 512 (or above what the CPU has) the Vector API
        // silently falls back to slow Java code, so we only accept sizes the hardware really has.
        if (bits == 0 || (bits >= 64 && bits <= preferred && Integer.bitCount(bits) == 1)) {
            return bits;
        }
        return warn("tandem.vectorBits", value, preferred);
    }

    static int readThreads(String value) {
        int all = Runtime.getRuntime().availableProcessors();
        if (value == null || value.isBlank()) {
            return all;
        }
        try {
            int n = Integer.parseInt(value.trim());
            if (n >= 1) {
                return n;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        return warn("tandem.threads", value, all);
    }

    private static int warn(String property, String value, int fallback) {
        System.err.println("tandem: ignoring " + property + "=" + value + " (unusable here); using " + fallback);
        return fallback;
    }
}
