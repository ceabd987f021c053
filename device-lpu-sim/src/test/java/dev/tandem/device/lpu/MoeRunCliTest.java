package dev.tandem.device.lpu;

import dev.tandem.conformance.ArchitecturesLlamaCppOracle;
import dev.tandem.runtime.cli.Main;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * `tandem run` of the synthetic mixtures (tools/arch-testdata) with their FFNs on emulated LPUs:
 * VERIFIED, which needs the ids of the host reference and every emulated block, the MoE blocks
 * included, in exactly its predicted cycles: on the LPUs alone, or with attention on the CPU under
 * afd. One batched run sends several sequences' rows through each MoE block program at once.
 */
class MoeRunCliTest {
    private static String[] tandem(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new String[] {Integer.toString(code), out.toString(), err.toString()};
    }

    @ParameterizedTest(name = "{0} on {1} ({2})")
    @CsvSource({
            "mixtral-q8_0.gguf, lp30*2, lpu-only, ''",
            "mixtral-f32.gguf, 'cpu,groqchip1*3', afd, ''",
            "qwen2moe-f32.gguf, 'cpu,lp30*2', afd, ''",
            "qwen3moe-q4_0.gguf, 'cpu,lp30', afd, ''",
            "mixtral-q8_0.gguf, 'cpu,lp30*2', afd, 4",
            "qwen2moe-f16.gguf, lp30*2, lpu-only, ''",
            "qwen3moe-f32.gguf, groqchip1, lpu-only, ''",
    })
    void aMixtureWithItsFfnsOnLpusIsVerified(String file, String pool, String policy, String batch) {
        List<String> args = new java.util.ArrayList<>(List.of("run", "-m", ArchitecturesLlamaCppOracle.path(file).toString(),
                "--pool", pool, "--policy", policy, "--prompt-ids", "1,75,104,101,32,99", "-n", "6"));
        if (!batch.isEmpty()) {
            args.addAll(List.of("--prompt-ids", "1,200,40", "--batch", batch));
        }
        String[] r = tandem(args.toArray(String[]::new));
        assertEquals("0", r[0], r[1] + r[2]);
        assertTrue(r[1].contains("verdict  VERIFIED"), r[1]);
        // The MoE FFN lines are on an LPU track and priced by the block program: predicted = emulated.
        List<String> ffn = r[1].lines().filter(l -> l.matches("\\S+\\s+\\S*(lp30|groqchip1)\\S*\\s+ffn\\s.*")).toList();
        assertFalse(ffn.isEmpty(), "no FFN ran on an LPU:\n" + r[1]);
        assertTrue(ffn.stream().anyMatch(l -> l.startsWith("decode")), "no decode FFN on an LPU:\n" + r[1]);
        for (String l : ffn) {
            assertTrue(l.endsWith("exact"), "an FFN off its predicted cycles: " + l + "\n" + r[1]);
        }
        assertFalse(r[1].contains("MISMATCH"), r[1]);
    }
}
