package dev.tandem.factory;

import dev.tandem.runtime.cli.spi.SubcommandProvider;

/** Adds {@code tandem factory} to runtime-core's CLI. */
public final class FactoryProvider implements SubcommandProvider {
    @Override
    public String name() { return "factory"; }

    @Override
    public Object command() { return new FactoryCommand(); }
}
