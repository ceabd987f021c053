package dev.tandem.runtime.engine;

import dev.tandem.runtime.error.TandemException;

/**
 * The engine's admission queue is full: the request was not taken. Retry later, or open the engine
 * with a larger {@link EngineConfig#queueCapacity()}.
 */
public class EngineOverloadedException extends TandemException {
    private final int queueCapacity;

    public EngineOverloadedException(int queueCapacity) {
        super("the engine is overloaded: " + queueCapacity + " requests already wait for admission (queueCapacity)");
        this.queueCapacity = queueCapacity;
    }

    public int queueCapacity() { return queueCapacity; }
}
