package dev.tandem.runtime.engine;

import dev.tandem.runtime.error.ContextLengthException;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.generate.Sampling;
import dev.tandem.runtime.Token;
import dev.tandem.runtime.compiler.Compiler;
import dev.tandem.runtime.compiler.ModelGraph;
import dev.tandem.runtime.compiler.Plan;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.KvPoolSpec;
import dev.tandem.runtime.model.LlamaConfig;
import dev.tandem.runtime.tokenizer.StreamingDecoder;
import dev.tandem.runtime.tokenizer.Tokenizer;

import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * A batching engine: many requests, one model on one device or on a compiled plan's devices
 * ({@link #open(Model, Plan, EngineConfig)}), served by continuous batching over a paged KV cache.
 * Each step runs the decode token of every running sequence and chunks of prompts together, up to
 * {@link EngineConfig#maxBatchTokens()} rows; requests join and leave between steps
 * ({@link Scheduler}). On the CPU device, and on plans over the CPU and emulated LPUs, results are
 * bit for bit those of a single {@link dev.tandem.runtime.Session} with the same sampling: every row
 * is computed alone, in the reference's order, whatever else shares its steps.
 *
 * <p>Thread-safety: {@link #submit}, {@link RequestHandle#cancel()}, the handles' futures and their
 * token publishers may be used from any number of threads at once. One step thread (a daemon, "tandem-engine") runs the
 * steps and calls every request's token callback; a callback must not block for long, since the
 * whole batch waits for it, and an exception it throws fails only its own request. {@link #close()}
 * waits for the running step, then fails the requests still open with an IllegalStateException.
 */
public final class Engine implements AutoCloseable {
    private final Model model;
    private final EngineConfig config;
    private final KvBlockPool pool;
    private final Scheduler scheduler;
    private final StepForward forward;
    private final PlanStep planStep;      // forward, when the engine steps a plan's placement; else null
    private final PlanMeter meter;        // null on one device
    private final ArrayBlockingQueue<RequestState> incoming;
    private final AtomicLong ids = new AtomicLong();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition work = lock.newCondition();
    private final Thread stepThread;
    private volatile boolean closed;
    private volatile long steps;
    private volatile long busyNanos;
    private final String deviceName;

    private Engine(Model model, EngineConfig config, KvPoolSpec spec, StepForward forward, PlanStep planStep, PlanMeter meter,
                   String deviceName) {
        this.model = model;
        this.config = config;
        this.deviceName = deviceName;
        this.pool = new KvBlockPool(spec);
        this.scheduler = new Scheduler(pool, config.maxSequences(), config.maxBatchTokens());
        this.incoming = new ArrayBlockingQueue<>(config.queueCapacity());
        this.forward = forward;
        this.planStep = planStep;
        this.meter = meter;
        this.stepThread = Thread.ofPlatform().daemon().name("tandem-engine").unstarted(this::loop);
        stepThread.start();
    }

    /** Logits rows one step may ask for: one per running sequence, at most one per row. */
    private static int maxHeads(EngineConfig config) {
        return Math.min(config.maxSequences(), config.maxBatchTokens());
    }

    /**
     * Opens an engine for model on device (which the caller keeps open and closes after the engine).
     * @throws EngineConfigException when a config value is outside its limit or the pool cannot hold one sequence
     * @throws dev.tandem.runtime.device.DeviceMemoryException when the model, pool and scratch do not fit
     * @throws dev.tandem.runtime.device.DeviceBusyException when the device runs one session at a time and is in use
     */
    public static Engine open(Model model, Device device, EngineConfig config) {
        LlamaConfig c = model.config();
        KvPoolSpec spec = config.validate(c.contextLength());
        BatchForward forward = new BatchForward(device, c, model.weights(), model.ropeInvFreq(), spec, config.maxBatchTokens(),
                maxHeads(config));
        return new Engine(model, config, spec, forward, null, null, device.spec().name());
    }

    /**
     * Opens an engine that steps a compiled plan's placement: it opens every device the plan names
     * (present backends, emulated LPUs; closed again with the engine), puts each layer's paged KV pool
     * on the plan's attention group (and, where prefill runs elsewhere, a pool of the same shape on
     * the prefill group, each sequence's rows moving once its prefill is done), and runs every step's
     * rows through the plan's stages ({@link PlanStep}): attention on one group, the FFN on another,
     * the embedding and the head where placed, afd's two micro-batches ping-ponging. Emulated
     * blocks are judged against their predicted cycles as they run and every decode step against
     * the plan's prediction ({@link #planStats()}). The plan's batch and lengths need not be the
     * config's: the placement is what is reused.
     *
     * @throws EngineConfigException as {@link #open(Model, Device, EngineConfig)}
     * @throws dev.tandem.runtime.device.DeviceUnavailableException when the plan names a device that cannot run here (a catalog GPU)
     * @throws dev.tandem.runtime.device.DeviceMemoryException when a stage's share does not fit its device
     */
    public static Engine open(Model model, Plan plan, EngineConfig config) {
        LlamaConfig c = model.config();
        KvPoolSpec spec = config.validate(c.contextLength());
        PlanStep step = new PlanStep(plan, c, model.weights(), model.ropeInvFreq(), spec, config.maxBatchTokens(), maxHeads(config));
        try {
            PlanMeter meter = new PlanMeter(plan, ModelGraph.of(model), Compiler.withInstalledProviders(), step.devices());
            return new Engine(model, config, spec, step, step, meter, String.join(" + ", new LinkedHashSet<>(step.devices().values())));
        } catch (RuntimeException e) {
            step.close();
            throw e;
        }
    }

    public EngineConfig config() { return config; }

    /** The KV pool's shape: its block size and block count. */
    public KvPoolSpec pool() { return pool.spec(); }

    /** KV blocks free now (the step thread changes it; a cancelled request's blocks are free once its future says so). */
    public int freeKvBlocks() { return pool.freeBlocks(); }

    /** Sequences preempted (and recomputed) so far for want of KV blocks. */
    long preemptions() { return scheduler.preemptions(); }

    /** The name of the device the engine steps on (its spec's); on a plan, its devices' names joined by " + ". */
    public String deviceName() { return deviceName; }

    /** Steps run so far. */
    public long steps() { return steps; }

    /** Wall-clock nanoseconds the device spent in steps so far (forward passes, from submit to logits back). */
    public long busyNanos() { return busyNanos; }

    /**
     * Seconds each device spent in the engine's steps so far: on one device, its wall-clock time in
     * steps, under {@link #deviceName()}; on a plan, each stage's (by its label) time in the ops it ran,
     * emulated time on an emulated device.
     */
    public Map<String, Double> deviceBusySeconds() {
        return meter == null ? Map.of(deviceName, busyNanos / 1e9) : meter.busySeconds();
    }

    /** The plan's predicted against its measured steps, and its emulated blocks' cycles; empty on one device. */
    public Optional<PlanStats> planStats() {
        return meter == null ? Optional.empty() : Optional.of(meter.stats());
    }

    /** Encodes text with BOS and submits it. */
    public RequestHandle submit(String prompt, Sampling sampling, Consumer<Token> onToken) {
        return submit(model.encode(prompt), sampling, onToken);
    }

    /** Encodes text with BOS and submits it; its tokens stream through {@link RequestHandle#tokens()}. */
    public RequestHandle submit(String prompt, Sampling sampling) {
        return submit(model.encode(prompt), sampling);
    }

    /**
     * Queues a request whose tokens stream through {@link RequestHandle#tokens()}, a
     * {@link java.util.concurrent.Flow.Publisher} that respects its subscriber's demand (the step
     * thread never waits for it) and cancels the request when the subscription is cancelled.
     * @throws ContextLengthException, EngineOverloadedException, IllegalArgumentException, IllegalStateException
     *         as {@link #submit(int[], Sampling, Consumer)}
     */
    public RequestHandle submit(int[] promptIds, Sampling sampling) {
        TokenPublisher tokens = new TokenPublisher(ForkJoinPool.commonPool());
        RequestState r = enqueue(promptIds, sampling, tokens, null);
        RequestHandle handle = new RequestHandle(r, this, tokens);
        tokens.attach(handle::cancel, r.future);
        return handle;
    }

    /**
     * Queues a request for the prompt ids as given; onToken (may be null) sees each token as it is
     * chosen, on the step thread.
     * @throws ContextLengthException when the prompt is longer than the engine's context
     * @throws EngineOverloadedException when {@link EngineConfig#queueCapacity()} requests already wait
     * @throws IllegalArgumentException for an empty prompt or an id outside the vocabulary
     * @throws IllegalStateException when the engine is closed
     */
    public RequestHandle submit(int[] promptIds, Sampling sampling, Consumer<Token> onToken) {
        return submit(promptIds, sampling, onToken, null);
    }

    /** As {@link #submit(int[], Sampling, Consumer)}, also handing every logits row the request samples from to onLogits. */
    RequestHandle submit(int[] promptIds, Sampling sampling, Consumer<Token> onToken, Consumer<float[]> onLogits) {
        return new RequestHandle(enqueue(promptIds, sampling, onToken, onLogits), this, null);
    }

    private RequestState enqueue(int[] promptIds, Sampling sampling, Consumer<Token> onToken, Consumer<float[]> onLogits) {
        if (closed) {
            throw new IllegalStateException("the engine is closed");
        }
        checkPrompt(promptIds);
        Tokenizer tokenizer = model.tokenizer().orElse(null);
        StreamingDecoder text = tokenizer == null ? null : new StreamingDecoder(tokenizer, promptIds[promptIds.length - 1]);
        RequestState r = new RequestState(ids.getAndIncrement(), promptIds, sampling, onToken, onLogits, text,
                tokenizer == null ? -1 : tokenizer.eos(), config.contextLength(), config.blockSize(), model.config().vocabSize());
        if (!incoming.offer(r)) {
            throw new EngineOverloadedException(config.queueCapacity());
        }
        if (closed && incoming.remove(r)) {
            // close() drained the queue between the check above and the offer.
            throw new IllegalStateException("the engine is closed");
        }
        wake();
        return r;
    }

    private void checkPrompt(int[] promptIds) {
        if (promptIds.length == 0) {
            throw new IllegalArgumentException("the prompt is empty: give at least one token");
        }
        if (promptIds.length > config.contextLength()) {
            throw new ContextLengthException("the prompt has " + promptIds.length + " tokens but the engine's context holds "
                    + config.contextLength() + " positions (contextLength)");
        }
        int vocab = model.config().vocabSize();
        for (int i = 0; i < promptIds.length; i++) {
            if (promptIds[i] < 0 || promptIds[i] >= vocab) {
                throw new IllegalArgumentException("prompt token " + i + " is id " + promptIds[i]
                        + ", outside the vocabulary [0, " + vocab + ")");
            }
        }
    }

    void wake() {
        lock.lock();
        try {
            work.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void loop() {
        while (true) {
            lock.lock();
            try {
                while (!closed && scheduler.idle() && incoming.isEmpty()) {
                    work.awaitUninterruptibly();
                }
                if (closed) {
                    return;
                }
            } finally {
                lock.unlock();
            }
            try {
                scheduler.sweepCancelled(incoming);
                Scheduler.Step step = scheduler.next(incoming);
                if (step == null) {
                    continue;
                }
                long start = System.nanoTime();
                float[] logits = forward.step(step);
                long wall = System.nanoTime() - start;
                busyNanos += wall;
                if (meter != null) {
                    meter(step, wall);
                }
                scheduler.complete(step, logits, model.config().vocabSize());
                steps++;
            } catch (RuntimeException | Error e) {
                // A failed step leaves the pool's contents unknown: every sequence in flight fails,
                // and the engine serves the requests that come next.
                scheduler.failAll(e);
                if (planStep != null) {
                    planStep.drainLog();   // what the failed step ran is not the next step's
                }
            }
        }
    }

    private void meter(Scheduler.Step step, long wall) {
        // A decode row: one generated token of a sequence whose earlier positions are cached; any other row is
        // a prompt chunk or a recompute, which the compiler does not predict as a decode step.
        int decode = 0, prefill = 0, furthest = 0;
        for (Scheduler.Segment s : step.segments()) {
            if (s.count() == 1 && s.pos0() >= s.request().prompt.length) {
                decode++;
                furthest = Math.max(furthest, s.pos0());
            } else {
                prefill += s.count();
            }
        }
        // The compiler prices a step at the positions cached: rounded up to whole KV blocks, so a run prices few shapes.
        int block = config.blockSize();
        int context = Math.min(config.contextLength(), (furthest / block + 1) * block);
        meter.record(planStep.drainLog(), decode, prefill, context - 1, wall, planStep.pingPongs() && decode >= 2);
    }

    /** Stops the step thread after its current step, fails open requests, frees the device's memory. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        if (Thread.currentThread() == stepThread) {
            throw new IllegalStateException("close the engine from another thread than its token callbacks");
        }
        closed = true;
        wake();
        try {
            stepThread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        IllegalStateException cause = new IllegalStateException("the engine closed before the request finished");
        scheduler.failAll(cause);
        for (RequestState r; (r = incoming.poll()) != null; ) {
            r.future.completeExceptionally(cause);
        }
        forward.close();
    }
}
