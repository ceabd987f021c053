package dev.tandem.runtime.cli;

import dev.tandem.runtime.cli.spi.SubcommandProvider;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.ServiceLoader;

/**
 * The tandem command (DESIGN.md §8). Exit codes: 0 ok, 1 internal error (with the trace), 2 usage,
 * 3 invalid model or input file, 4 does not fit or device unavailable. Every error but 1 is one line.
 */
@Command(name = "tandem", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Runs transformer LLMs across CPUs, GPUs and emulated LPUs.")
public final class Main implements Runnable {
    /** The built-in subcommands, in the order the help lists them; each is named by its own {@code @Command}. */
    private static final List<Class<?>> BUILT_IN = List.of(GenerateCommand.class, TokenizeCommand.class, InfoCommand.class,
            DevicesCommand.class, CompileCommand.class, RunCommand.class, CalibrateCommand.class, BenchCommand.class,
            DeviceBenchCommand.class);

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        StartupTrace.mark("main");
        System.exit(run(args, new PrintWriter(System.out, true, StandardCharsets.UTF_8),
                new PrintWriter(System.err, true, StandardCharsets.UTF_8)));
    }

    /** Runs the CLI with the given streams and returns the exit code (used by tests too). */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cli = commandLine(args);
        cli.setOut(out);
        cli.setErr(err);
        cli.setParameterExceptionHandler((ex, a) -> {
            err.println("tandem: " + ex.getMessage());
            return ExitCodes.USAGE;
        });
        cli.setExecutionExceptionHandler((ex, cmd, parsed) -> ExitCodes.report(ex, err));
        int code = cli.execute(args);
        out.flush();
        err.flush();
        return code;
    }

    /** The command line that runs ARGS: the top level and the subcommands it may need (below). */
    static CommandLine commandLine(String[] args) {
        CommandLine cli = new CommandLine(new Main());
        // Subcommands from modules above runtime-core (tandem serve), when they are on the path.
        List<SubcommandProvider> extras = ServiceLoader.load(SubcommandProvider.class).stream().map(ServiceLoader.Provider::get).toList();
        // picocli builds the whole model of every subcommand it is given, by reflection over its options: for all
        // of them ~0.2 s of a cold run. A run naming a known subcommand is given only that one; help, the version,
        // no command or an unknown word get them all (the listing and picocli's suggestions name every command).
        String named = commandWord(args);
        boolean known = BUILT_IN.stream().anyMatch(c -> nameOf(c).equals(named))
                || extras.stream().anyMatch(e -> e.name().equals(named));
        for (Class<?> command : BUILT_IN) {
            if (!known || nameOf(command).equals(named)) {
                cli.addSubcommand(nameOf(command), command);
            }
        }
        for (SubcommandProvider extra : extras) {
            if (!known || extra.name().equals(named)) {
                cli.addSubcommand(extra.name(), extra.command());
            }
        }
        return cli;
    }

    /** The subcommand's name: the first argument, unless it is an option (-h, -V: the top level's, which want every command). */
    private static String commandWord(String[] args) {
        return args.length > 0 && !args[0].startsWith("-") ? args[0] : null;
    }

    private static String nameOf(Class<?> command) {
        return command.getAnnotation(Command.class).name();
    }

    @Override
    public void run() {
        // No subcommand: say what there is, as a usage error.
        spec.commandLine().usage(spec.commandLine().getErr());
        throw new CommandLine.ParameterException(spec.commandLine(), "missing a command, e.g. 'tandem generate'");
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getModule().getDescriptor() != null
                    ? Main.class.getModule().getDescriptor().rawVersion().orElse("dev") : "dev";
            return new String[] {"tandem " + v + " on Java " + Runtime.version()};
        }
    }
}
