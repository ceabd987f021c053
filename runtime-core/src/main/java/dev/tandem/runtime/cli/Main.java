package dev.tandem.runtime.cli;

/** Entry point of the tandem command. */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        throw new UnsupportedOperationException("TODO");
    }
}
