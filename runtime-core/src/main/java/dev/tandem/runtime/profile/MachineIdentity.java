package dev.tandem.runtime.profile;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.tandem.kernels.KernelConfig;
import dev.tandem.runtime.Tandem;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * What a profile's timings depend on besides the device: the CPU that runs the kernels (or feeds the
 * accelerator), how many cores and kernel threads it has, the JVM that compiles them, and the Tandem
 * build whose kernels were timed. A profile measured under another identity is foreign: it is never used.
 *
 * @param cpuModel       /proc/cpuinfo's model name where there is one, else the architecture
 * @param cores          processors the JVM sees
 * @param kernelThreads  threads the kernels module runs on
 * @param vectorBits     the Vector API's preferred width
 * @param jvm            vendor and version of the JVM
 * @param tandemVersion  the runtime-core module's version ("dev" in a build without one)
 */
public record MachineIdentity(@JsonProperty("cpu_model") String cpuModel, @JsonProperty("cores") int cores,
                              @JsonProperty("kernel_threads") int kernelThreads, @JsonProperty("vector_bits") int vectorBits,
                              @JsonProperty("jvm") String jvm, @JsonProperty("tandem_version") String tandemVersion) {

    /** This process's identity. */
    public static MachineIdentity current() {
        return new MachineIdentity(readCpuModel(), Runtime.getRuntime().availableProcessors(), KernelConfig.threads(),
                KernelConfig.vectorBits(), System.getProperty("java.vm.vendor", "?") + " " + Runtime.version(), buildVersion());
    }

    static String buildVersion() {
        Module m = Tandem.class.getModule();
        String v = m.getDescriptor() != null ? m.getDescriptor().rawVersion().orElse(null) : null;
        if (v == null) {
            v = Tandem.class.getPackage().getImplementationVersion();
        }
        return v != null ? v : "dev";
    }

    private static String readCpuModel() {
        Path info = Path.of("/proc/cpuinfo");
        if (Files.isReadable(info)) {
            try (var lines = Files.lines(info)) {
                var model = lines.filter(l -> l.toLowerCase(Locale.ROOT).startsWith("model name"))
                        .map(l -> l.substring(l.indexOf(':') + 1).trim()).findFirst();
                if (model.isPresent()) {
                    return model.get();
                }
            } catch (IOException | java.io.UncheckedIOException e) {
                // Fall through to the architecture: the profile is then keyed less finely, never wrongly.
            }
        }
        return System.getProperty("os.arch");
    }

    /** A short stable key for file names: the identity's hash, in hex. */
    String key() {
        return String.format(Locale.ROOT, "%08x", toString().hashCode());
    }
}
