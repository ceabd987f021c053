package dev.tandem.loadgen;

import dev.tandem.runtime.cli.spi.SubcommandProvider;

/** Adds {@code tandem bench-serve} to runtime-core's CLI. */
public final class BenchServeProvider implements SubcommandProvider {
    @Override
    public String name() { return "bench-serve"; }

    @Override
    public Object command() { return new BenchServeCommand(); }
}
