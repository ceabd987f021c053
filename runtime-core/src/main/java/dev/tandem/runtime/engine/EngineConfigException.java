package dev.tandem.runtime.engine;

import dev.tandem.runtime.error.TandemException;

/** An {@link EngineConfig} value outside its limit (named in the message), or a pool too small for one sequence. */
public class EngineConfigException extends TandemException {
    public EngineConfigException(String message) { super(message); }
}
