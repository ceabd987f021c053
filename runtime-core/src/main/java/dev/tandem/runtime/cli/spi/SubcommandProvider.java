package dev.tandem.runtime.cli.spi;

/**
 * A tandem subcommand that lives in a module above runtime-core (e.g. {@code tandem serve} in
 * dev.tandem.server), found with {@link java.util.ServiceLoader} so runtime-core need not depend on it.
 *
 * <p>The command is a picocli-annotated object ({@code @Command}, a {@code Runnable} or
 * {@code Callable<Integer>}); its package must be open to info.picocli. Exceptions it throws map to
 * exit codes as the built-in commands' do: a {@link dev.tandem.runtime.error.TandemException} is a usage
 * error (2) unless a more specific type says otherwise, anything else is internal (1).
 */
public interface SubcommandProvider {
    /** The name after {@code tandem}, e.g. "serve". */
    String name();

    /** A fresh command object for one invocation. */
    Object command();
}
