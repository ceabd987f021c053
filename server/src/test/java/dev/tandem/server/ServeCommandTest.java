package dev.tandem.server;

import dev.tandem.runtime.cli.Main;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** runtime-core's CLI finds `serve` through the SubcommandProvider SPI; flag errors are one-line usage errors. */
class ServeCommandTest {
    private record Run(int code, String out, String err) {}

    private static Run tandem(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out), new PrintWriter(err));
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void serveIsASubcommand() {
        Run help = tandem("serve", "--help");
        assertEquals(0, help.code(), help.err());
        assertTrue(help.out().contains("--api-key") && help.out().contains("--kv-blocks") && help.out().contains("--max-batch"),
                help.out());
        assertTrue(tandem("--help").out().contains("serve"));
    }

    @Test
    void badFlagsAreUsageErrorsOnOneLine() {
        for (String[] args : new String[][] {{"serve", "--port", "70000"}, {"serve", "--chat-template", "jinja9"},
                {"serve", "--max-batch", "0", "--port", "0"}, {"serve", "--port", "x"}}) {
            Run r = tandem(args);
            assertEquals(2, r.code(), String.join(" ", args) + ": " + r.err());
            assertFalse(r.err().strip().contains("\n"), r.err());
        }
        Run missing = tandem("serve", "-m", "/nonexistent/model.gguf");
        assertEquals(3, missing.code(), missing.err());
        // {flag named in the error, args...}
        for (String[] c : new String[][] {{"--pool", "serve", "--pool", "cpu*"}, {"--policy", "serve", "--pool", "cpu", "--policy", "fastest"},
                {"--policy", "serve", "--policy", "afd"}, {"--device", "serve", "--pool", "cpu", "--device", "cpu"}}) {
            String[] args = java.util.Arrays.copyOfRange(c, 1, c.length);
            Run r = tandem(args);
            assertEquals(2, r.code(), String.join(" ", args) + ": " + r.err());
            assertFalse(r.err().strip().contains("\n"), r.err());
            assertTrue(r.err().contains(c[0]), r.err());
        }
    }

    @Test
    void aPlanOnACatalogDeviceIsRefusedNamingIt() {
        // Split plans are served (ServePlacementTest); a catalog GPU plans but cannot run here.
        Run catalog = tandem("serve", "--pool", "h100", "--policy", "single", "--port", "0");
        assertEquals(4, catalog.code(), catalog.err());
        assertTrue(catalog.err().contains("catalog"), catalog.err());
    }
}
