package dev.tandem.runtime.compiler;

import dev.tandem.runtime.error.TandemException;

/** A policy that cannot apply to this pool (afd without an LPU, say), or an unknown one: a usage error. */
public final class PolicyException extends TandemException {
    public PolicyException(String message) { super(message); }
}
