package dev.tandem.runtime.cli;

import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A run that names a known subcommand builds only that one (picocli's model of the others costs a cold start
 * ~0.1 s); the help, the version, no command and an unknown word see every command.
 */
class SubcommandSelectionTest {
    private static final Set<String> ALL = Set.of("generate", "tokenize", "info", "devices", "compile", "run", "calibrate",
            "bench", "device-bench");

    private static Set<String> built(String... args) {
        return Main.commandLine(args).getSubcommands().keySet();
    }

    @Test
    void aKnownSubcommandIsTheOnlyOneBuilt() {
        assertEquals(Set.of("generate"), built("generate", "-n", "2"));
        assertEquals(Set.of("bench"), built("bench", "-m", "x.gguf"));
        assertEquals(Set.of("run"), built("run"));
        assertEquals(Set.of("info"), built("info", "--help"));
    }

    @Test
    void helpVersionNoCommandAndUnknownWordsSeeEveryCommand() {
        for (List<String> args : List.of(List.<String>of(), List.of("--help"), List.of("-V"), List.of("genrate"),
                List.of("--bogus", "x"), List.of("-h", "generate"))) {
            Set<String> names = built(args.toArray(String[]::new));
            assertTrue(names.containsAll(ALL), args + " built " + names);
        }
    }

    @Test
    void theTopLevelHelpStillListsEveryCommandAndASubcommandsHelpItsOptions() {
        StringWriter out = new StringWriter();
        assertEquals(0, Main.run(new String[] {"--help"}, new PrintWriter(out, true), new PrintWriter(new StringWriter(), true)));
        for (String name : ALL) {
            assertTrue(out.toString().contains("  " + name + " "), name + " in\n" + out);
        }
        StringWriter sub = new StringWriter();
        assertEquals(0, Main.run(new String[] {"generate", "--help"}, new PrintWriter(sub, true), new PrintWriter(new StringWriter(), true)));
        assertTrue(sub.toString().contains("--prompt-ids"), sub.toString());
    }

    @Test
    void anUnknownCommandIsStillAUsageErrorNamingIt() {
        StringWriter err = new StringWriter();
        assertEquals(2, Main.run(new String[] {"genrate"}, new PrintWriter(new StringWriter(), true), new PrintWriter(err, true)));
        assertTrue(err.toString().startsWith("tandem: Unmatched argument at index 0: 'genrate'"), err.toString());
    }
}
