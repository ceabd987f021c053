package dev.tandem.runtime.cli;

import dev.tandem.runtime.cli.spi.SubcommandProvider;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ServiceLoader;

/**
 * The tandem command (DESIGN.md §8). Exit codes: 0 ok, 1 internal error (with the trace), 2 usage,
 * 3 invalid model or input file, 4 does not fit or device unavailable. Every error but 1 is one line.
 */
@Command(name = "tandem", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Runs transformer LLMs across CPUs, GPUs and emulated LPUs.",
        subcommands = {GenerateCommand.class, TokenizeCommand.class, InfoCommand.class, DevicesCommand.class,
                CompileCommand.class, RunCommand.class, CalibrateCommand.class, BenchCommand.class,
                DeviceBenchCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        StartupTrace.mark("main");
        System.exit(run(args, new PrintWriter(System.out, true, StandardCharsets.UTF_8),
                new PrintWriter(System.err, true, StandardCharsets.UTF_8)));
    }

    /** Runs the CLI with the given streams and returns the exit code (used by tests too). */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cli = new CommandLine(new Main());
        // Subcommands from modules above runtime-core (tandem serve), when they are on the path.
        for (SubcommandProvider extra : ServiceLoader.load(SubcommandProvider.class)) {
            cli.addSubcommand(extra.name(), extra.command());
        }
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
