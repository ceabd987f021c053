package dev.tandem.runtime.compiler;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.runtime.cli.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** `tandem compile` through the CLI entry point: JSON fields, the trace, and exit codes. */
class CompileCommandTest {
    record Result(int code, String out, String err) {}

    static Result tandem(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(code, out.toString(), err.toString());
    }

    @Test
    void jsonHasPredictionsAndPlacement(@TempDir Path dir) throws Exception {
        Path trace = dir.resolve("plan.json");
        Result r = tandem("compile", "--shape", "llama-3-70b", "--pool", "h100*8,lp30*64", "--policy", "auto", "--json",
                "--trace", trace.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode root = new ObjectMapper().readTree(r.out());
        for (String f : new String[] {"ttft_ms", "tpot_ms", "tokens_per_s_per_user", "tokens_per_s", "joules_per_token"}) {
            assertTrue(root.get("predicted").get(f).isNumber(), f);
        }
        JsonNode placement = root.get("placement");
        assertTrue(placement.size() > 2 * 80);
        for (String f : new String[] {"layer", "op", "phase", "device"}) {
            assertTrue(placement.get(0).has(f), f);
        }
        assertEquals(5, root.get("alternatives").size());
        JsonNode events = new ObjectMapper().readTree(trace.toFile()).get("traceEvents");
        assertTrue(events.size() > 100);
    }

    @Test
    void tableMarksTheChoiceAndSaysWhy() {
        Result r = tandem("compile", "--shape", "llama-3-8b", "--pool", "h100,lp30*64", "--weights", "q8_0");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("*auto") && r.out().contains("lowest TPOT"), r.out());
    }

    @Test
    void errorsMapToExitCodes() {
        Result bad = tandem("compile", "--shape", "llama-2-7b", "--pool", "h100,tpu*2");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("'tpu*2'"), bad.err());
        Result big = tandem("compile", "--shape", "llama-2-70b", "--pool", "h100", "--policy", "single");
        assertEquals(4, big.code());
        assertTrue(big.err().contains("needs at least 2 h100"), big.err());
        assertEquals(2, tandem("compile", "--shape", "gpt-5", "--pool", "h100").code());
    }
}
