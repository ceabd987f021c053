package dev.tandem.runtime.cli;

import dev.tandem.kernels.WeightFormat;
import dev.tandem.runtime.bench.DeviceBench;
import dev.tandem.runtime.bench.DeviceBenchReport;
import dev.tandem.runtime.compiler.ModelShapes;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DeviceRequest;
import dev.tandem.runtime.device.Devices;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** tandem device-bench: the device's copy ceiling, matmuls and synthetic models' decode and prefill (docs/gpu-results.md). */
@Command(name = "device-bench", mixinStandardHelpOptions = true,
        description = "Measures a device through the device SPI: device-to-device copy bandwidth, batch-1 matmul per "
                + "weight format against it, batch-B matmul in TFLOP/s, and decode and prefill of synthetic models of "
                + "real shapes (random weights) against the floor their bytes set. Medians after warm-up.")
final class DeviceBenchCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--device", paramLabel = "NAME[:KEY=VALUE,...]", defaultValue = "cpu",
            description = "the device (default ${DEFAULT-VALUE})")
    String device;

    @Option(names = "--copy-mib", paramLabel = "MIB", defaultValue = "1024", description = "bytes per copy (default ${DEFAULT-VALUE} MiB)")
    double copyMib;

    @Option(names = "--matvec-mib", paramLabel = "MIB", defaultValue = "256",
            description = "weight bytes per matmul matrix (default ${DEFAULT-VALUE} MiB)")
    double matvecMib;

    @Option(names = "--cols", paramLabel = "N", defaultValue = "8192", description = "columns of the matmul matrices (default ${DEFAULT-VALUE})")
    int cols;

    @Option(names = "--formats", paramLabel = "F,...", split = ",", defaultValue = "F16,Q8_0,Q4_0",
            description = "matmul weight formats (default ${DEFAULT-VALUE}); 'none' skips the matmuls")
    List<String> formats;

    @Option(names = "--batch", paramLabel = "B", defaultValue = "512",
            description = "activation rows of the batched matmul and tokens of each model's prefill (default ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--models", paramLabel = "SHAPE:FORMAT,...", split = ",",
            defaultValue = "llama-3.2-1b:F16,llama-3.2-1b:Q8_0,llama-3-8b:F16",
            description = {"synthetic models (default ${DEFAULT-VALUE}); shapes: 'synthetic' (dim 256) or tandem compile's",
                    "--shape names; 'none' skips them"})
    List<String> models;

    @Option(names = "--decode-tokens", paramLabel = "N", defaultValue = "32", description = "timed decode steps per model (default ${DEFAULT-VALUE})")
    int decodeTokens;

    @Option(names = "--warmup", paramLabel = "N", defaultValue = "3", description = "untimed runs before each measurement (default ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--runs", paramLabel = "N", defaultValue = "10", description = "timed runs per figure, the median reported (default ${DEFAULT-VALUE})")
    int runs;

    @Option(names = "--json", paramLabel = "FILE", description = "also write the figures as JSON")
    Path json;

    @Override
    public Integer call() throws IOException {
        List<WeightFormat> fs = new ArrayList<>();
        for (String f : formats) {
            if (f.equalsIgnoreCase("none")) {
                continue;
            }
            try {
                fs.add(WeightFormat.valueOf(f.trim().toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                throw new ExitCodes.UsageException("--formats: unknown weight format '" + f.trim() + "'");
            }
        }
        List<DeviceBench.ModelCase> cases = new ArrayList<>();
        for (String m : models) {
            if (m.equalsIgnoreCase("none")) {
                continue;
            }
            DeviceBench.ModelCase c;
            try {
                c = DeviceBench.ModelCase.parse(m.trim());
            } catch (IllegalArgumentException e) {
                throw new ExitCodes.UsageException("--models: '" + m.trim() + "' is not SHAPE:FORMAT with a known format");
            }
            if (!c.shape().equals("synthetic")) {
                ModelShapes.shape(c.shape()); // an unknown shape is a usage error naming the shapes
            }
            cases.add(c);
        }
        DeviceBench.Settings settings;
        try {
            settings = new DeviceBench.Settings((long) (copyMib * 1048576), (long) (matvecMib * 1048576), cols, fs,
                    batch, cases, decodeTokens, warmup, runs);
        } catch (IllegalArgumentException e) {
            throw new ExitCodes.UsageException(e.getMessage());
        }
        if (json != null) {
            Outputs.writableFile(json, "--json");
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        DeviceRequest request = DeviceRequest.parse(device);
        DeviceBenchReport report;
        try (Device d = Devices.open(request.name(), request.options())) {
            report = new DeviceBench(d, settings, step -> {
                err.println("device-bench: " + step);
                err.flush();
            }).run();
        }
        out.print(report.table());
        out.flush();
        if (json != null) {
            Files.writeString(json, report.json());
        }
        return report.errors().isEmpty() ? ExitCodes.OK : ExitCodes.INTERNAL;
    }
}
