package dev.tandem.runtime.cli;

import dev.tandem.conformance.SharedData;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.List;

import static dev.tandem.runtime.cli.CliTest.tandem;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Device options travel with the device name; an option the chosen device does not take is a usage
 * error (exit 2) naming the key and, for an alias flag, the flag, never silently ignored.
 */
class DeviceOptionsCliTest {
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "--device cpu:threads=4                 | 'threads'",
            "--device cpu --lpu-chips 2             | --lpu-chips",
            "--device cpu --lpu-preset lp30         | --lpu-preset",
            "--device cpu --lpu-set clockHz=1e9     | --lpu-set",
            "--device cpu --trace /tmp/t.json       | --trace",
            "--device null:chips=2                  | 'chips'",
            "--device cpu:chips                     | 'chips'",
    })
    void optionsADeviceDoesNotTakeAreUsageErrors(String flags, String named) {
        List<String> args = new ArrayList<>(List.of("generate", "-m", SharedData.model("stories260K.bin").toString(),
                "--prompt-ids", "1", "-n", "2", "--ids"));
        args.addAll(List.of(flags.trim().split("\\s+")));
        CliTest.Result r = tandem(args.toArray(String[]::new));
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains(named.trim()), r.err());
        assertEquals(1, r.err().lines().count(), "one line: " + r.err());
        assertEquals("", r.out().trim(), "nothing ran");
    }
}
