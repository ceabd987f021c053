package dev.tandem.server;

import dev.tandem.runtime.cli.spi.SubcommandProvider;

/** Adds {@code tandem serve} to runtime-core's CLI. */
public final class ServeProvider implements SubcommandProvider {
    @Override
    public String name() { return "serve"; }

    @Override
    public Object command() { return new ServeCommand(); }
}
