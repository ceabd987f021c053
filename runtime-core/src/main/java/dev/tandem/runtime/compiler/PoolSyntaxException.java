package dev.tandem.runtime.compiler;

import dev.tandem.runtime.error.TandemException;

/** A --pool token that is not NAME[*COUNT] with a known NAME and a positive COUNT (a usage error). */
public final class PoolSyntaxException extends TandemException {
    private final String token;

    public PoolSyntaxException(String token, String why) {
        super("pool entry '" + token + "': " + why);
        this.token = token;
    }

    public String token() { return token; }
}
