package dev.tandem.runtime.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tandem.runtime.GenerationResult;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.generate.Sampling;
import dev.tandem.runtime.Session;
import dev.tandem.runtime.Tandem;
import dev.tandem.runtime.Token;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DeviceOptionException;
import dev.tandem.runtime.device.DeviceOptions;
import dev.tandem.runtime.device.DeviceRequest;
import dev.tandem.runtime.device.Devices;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Consumer;

@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Generates text (or token ids) from a prompt.",
                "With no -m, runs the embedded default model (tandem-kjv: a small Llama trained on the King James Bible)."})
final class GenerateCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = {"-m", "--model"}, paramLabel = "MODEL", description = "GGUF or llama2.c .bin file (default: the embedded model)")
    Path model;

    @Option(names = "--tokenizer", paramLabel = "FILE", description = "llama2.c tokenizer.bin, or a GGUF whose vocabulary to use")
    Path tokenizer;

    @ArgGroup(exclusive = true)
    Prompt prompt = new Prompt();

    static final class Prompt {
        @Option(names = {"-p", "--prompt"}, paramLabel = "TEXT", description = "prompt text, encoded with BOS")
        String text;

        @Option(names = "--prompt-ids", paramLabel = "IDS", description = "the whole prompt as comma-separated ids (no BOS added)")
        String ids;
    }

    @Option(names = {"-n", "--steps"}, paramLabel = "STEPS", defaultValue = "256", description = "tokens to generate (default ${DEFAULT-VALUE})")
    int steps;

    @Mixin
    SamplingOptions samplingOptions = new SamplingOptions();

    @Option(names = "--stop-ids", paramLabel = "IDS", description = "also stop at these comma-separated ids (e.g. 1, BOS, for llama2.c stories)")
    String stopIds;

    @Option(names = "--context", paramLabel = "C", description = "KV cache positions (default: the model's context length)")
    Integer context;

    @Option(names = "--device", paramLabel = "NAME[:KEY=VALUE,...]", defaultValue = "cpu",
            description = {"device backend: cpu (the reference kernels), opencl, lpu, ..., or auto for the best usable one,",
                    "with its options after a colon, e.g. lpu:preset=lp30,chips=4; see 'tandem devices' (default ${DEFAULT-VALUE})"})
    String device;

    @Option(names = "--lpu-chips", paramLabel = "N",
            description = "the device option chips=N (--device lpu: emulate N chips; default the fewest that hold the model)")
    Integer lpuChips;

    @Option(names = "--lpu-preset", paramLabel = "NAME",
            description = "the device option preset=NAME (--device lpu: groqchip1 or lp30; default groqchip1)")
    String lpuPreset;

    @Option(names = "--lpu-set", paramLabel = "KEY=VALUE,...",
            description = "device options, e.g. (--device lpu) the chip fields clockHz=1.1e9,c2cHopLatencyCycles=300")
    String lpuSet;

    @Option(names = "--trace", paramLabel = "FILE",
            description = "the device option trace=FILE (--device lpu: a Chrome/Perfetto trace of the first decode step)")
    Path trace;

    @Option(names = "--ids", description = "print the generated ids (not the prompt) on one line instead of text")
    boolean printIds;

    @Option(names = "--logits-out", paramLabel = "FILE", description = "write the logits after the last prompt token as a JSON array")
    Path logitsOut;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Outputs.writableFile(trace, "--trace");
        Outputs.writableFile(logitsOut, "--logits-out");
        Sampling sampling = sampling();
        StartupTrace.mark("command");
        long loadStart = System.nanoTime();
        try (Model m = Inputs.model(model, tokenizer, spec.commandLine().getErr())) {
            long mapped = System.nanoTime();
            StartupTrace.mark("mapped");
            double loadMs = (mapped - loadStart) / 1e6;
            int[] promptIds = promptIds(m);
            int ctx = context == null ? m.config().contextLength() : context;
            if (ctx < 1 || ctx > m.config().contextLength()) {
                throw new ExitCodes.UsageException("--context " + ctx + ": must be in [1, " + m.config().contextLength() + "]");
            }
            try (Device d = openDevice();
                 Session session = d == null ? Tandem.open(m, ctx) : Tandem.open(m, d, ctx)) {
                StartupTrace.mark("session");
                // When the first token reaches the sink, measured from the model's mapping: the cold-start
                // figure (session set-up and the first forward, interpreted kernels and JIT included).
                long[] firstTokenAt = {0};
                Consumer<Token> stream = streamTo(out, m);
                Consumer<Token> sink = t -> {
                    if (firstTokenAt[0] == 0) {
                        firstTokenAt[0] = System.nanoTime();
                        StartupTrace.mark("first_token");
                    }
                    stream.accept(t);
                };
                GenerationResult result = session.generate(promptIds, sampling, sink);
                StartupTrace.mark("generated");
                if (printIds) {
                    StringBuilder line = new StringBuilder();
                    for (int id : result.generatedIds()) {
                        line.append(line.isEmpty() ? "" : " ").append(id);
                    }
                    out.println(line);
                } else {
                    out.println();
                }
                out.flush();
                if (logitsOut != null) {
                    try {
                        new ObjectMapper().writeValue(logitsOut.toFile(), result.promptLogits());
                    } catch (IOException e) {
                        throw Outputs.cannotWrite("--logits-out", logitsOut, e);
                    }
                }
                err.println(String.format(Locale.ROOT,
                        "stats: load_ms=%.1f ttft_ms=%.1f prefill_tps=%.1f decode_tps=%.1f prompt_tokens=%d generated=%d stop=%s seed=%d device=%s map_to_first_token_ms=%.1f",
                        loadMs, result.ttftMillis(), result.prefillTokensPerSecond(), result.decodeTokensPerSecond(),
                        result.promptIds().length, result.generatedIds().length,
                        result.stopReason().name().toLowerCase(Locale.ROOT), sampling.seed(),
                        session.deviceName().replace(' ', '_'),
                        firstTokenAt[0] == 0 ? 0.0 : (firstTokenAt[0] - mapped) / 1e6));
                if (d != null) {
                    d.report().ifPresent(err::println);
                }
                if (StartupTrace.on()) {
                    err.println(StartupTrace.line());
                }
            }
        }
        return ExitCodes.OK;
    }

    /**
     * The --device request with the alias flags' options added; null for the plain host CPU, which a
     * session opens itself. A backend refuses options it does not take, naming the key and the flag.
     */
    private Device openDevice() {
        DeviceRequest request = DeviceRequest.parse(device);
        Map<String, String> flagOf = new LinkedHashMap<>();
        DeviceOptions options = request.options();
        if (lpuChips != null) {
            options = options.with("chips", Integer.toString(lpuChips));
            flagOf.put("chips", "--lpu-chips");
        }
        if (lpuPreset != null) {
            options = options.with("preset", lpuPreset);
            flagOf.put("preset", "--lpu-preset");
        }
        if (lpuSet != null) {
            for (String key : DeviceOptions.parse(lpuSet).keys()) {
                flagOf.put(key, "--lpu-set");
            }
            for (var e : DeviceOptions.parse(lpuSet).values().entrySet()) {
                options = options.with(e.getKey(), e.getValue());
            }
        }
        if (trace != null) {
            options = options.with("trace", trace.toString());
            flagOf.put("trace", "--trace");
        }
        if (request.name().equals("cpu") && options.isEmpty()) {
            return null;
        }
        try {
            return Devices.open(request.name().equals("auto") ? null : request.name(), options);
        } catch (DeviceOptionException e) {
            for (var f : flagOf.entrySet()) {
                if (e.getMessage().contains("'" + f.getKey() + "'") || e.getMessage().contains(f.getKey() + "=")) {
                    throw new ExitCodes.UsageException(f.getValue() + ": " + e.getMessage());
                }
            }
            throw e;
        }
    }

    private Sampling sampling() {
        try {
            Sampling sampling = samplingOptions.sampling(steps, true);
            return stopIds == null ? sampling : sampling.stopTokens(Inputs.parseIds(stopIds, "--stop-ids"));
        } catch (IllegalArgumentException e) {
            throw new ExitCodes.UsageException(e.getMessage());
        }
    }

    private int[] promptIds(Model m) {
        int[] ids;
        if (prompt.ids != null) {
            ids = Inputs.parseIds(prompt.ids, "--prompt-ids");
        } else if (prompt.text != null) {
            if (m.tokenizer().isEmpty()) {
                throw new ExitCodes.UsageException(m.source() + " has no text vocabulary: use --prompt-ids, or --tokenizer FILE");
            }
            ids = m.encode(prompt.text);
            Inputs.warnUnknown(spec.commandLine().getErr(), m.tokenizer().get(), ids);
        } else {
            ids = m.tokenizer().isPresent() ? m.encode("") : new int[0];
            if (ids.length == 0) {
                throw new ExitCodes.UsageException("give a prompt with -p TEXT or --prompt-ids IDS");
            }
        }
        if (ids.length == 0) {
            throw new ExitCodes.UsageException("the prompt is empty");
        }
        int vocab = m.config().vocabSize();
        for (int id : ids) {
            if (id < 0 || id >= vocab) {
                throw new ExitCodes.UsageException("--prompt-ids: id " + id + " is outside the vocabulary [0, " + vocab + ")");
            }
        }
        return ids;
    }

    /** Streams text as it is generated; with --ids (or no text vocabulary) nothing streams. */
    private Consumer<Token> streamTo(PrintWriter out, Model m) {
        if (printIds) {
            return t -> { };
        }
        if (m.tokenizer().isEmpty()) {
            boolean[] first = {true};
            return t -> {
                out.print(first[0] ? "" : " ");
                out.print(t.id());
                out.flush();
                first[0] = false;
            };
        }
        return t -> {
            out.print(printable(t.text()));
            out.flush();
        };
    }

    /** Escapes C0 control characters other than tab and newlines, so a model cannot drive the terminal. */
    static String printable(String text) {
        StringBuilder sb = null;
        for (int i = 0; i < text.length(); i++) {
            char ch = text.charAt(i);
            boolean control = ch < 0x20 && ch != '\n' && ch != '\t' && ch != '\r' || ch == 0x7f;
            if (control && sb == null) {
                sb = new StringBuilder(text.substring(0, i));
            }
            if (sb != null) {
                if (control) {
                    sb.append(String.format("\\x%02x", (int) ch));
                } else {
                    sb.append(ch);
                }
            }
        }
        return sb == null ? text : sb.toString();
    }
}
