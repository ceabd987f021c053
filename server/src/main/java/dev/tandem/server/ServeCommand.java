package dev.tandem.server;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.error.ModelFormatException;
import dev.tandem.runtime.error.TandemException;
import dev.tandem.runtime.compiler.Plan;
import dev.tandem.runtime.device.Device;
import dev.tandem.runtime.device.DeviceRequest;
import dev.tandem.runtime.device.Devices;
import dev.tandem.runtime.engine.Engine;
import dev.tandem.runtime.engine.EngineConfig;
import dev.tandem.runtime.model.EmbeddedModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serves a model over an OpenAI-compatible HTTP API (docs/serving.md).",
                "With no -m, serves the embedded default model (tandem-kjv). Binds to loopback unless --host says otherwise."})
final class ServeCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = {"-m", "--model"}, paramLabel = "MODEL", description = "GGUF or llama2.c .bin file (default: the embedded model)")
    Path model;

    @Option(names = "--host", paramLabel = "ADDR", defaultValue = ServerOptions.LOOPBACK,
            description = "address to listen on (default ${DEFAULT-VALUE}; 0.0.0.0 for every interface)")
    String host;

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "8080", description = "TCP port; 0 picks a free one (default ${DEFAULT-VALUE})")
    int port;

    @Option(names = "--api-key", paramLabel = "KEY", description = "require Authorization: Bearer KEY on /v1 endpoints")
    String apiKey;

    @Option(names = "--device", paramLabel = "NAME[:KEY=VALUE,...]", defaultValue = "cpu",
            description = "device backend the engine runs on, as for generate (default ${DEFAULT-VALUE})")
    String device;

    @Option(names = "--pool", paramLabel = "POOL",
            description = {"compile a plan for this pool (as tandem compile --pool) and serve on its placement:",
                    "one device, or the model split across devices (afd, disagg, LPU FFNs on emulated LPUs)"})
    String pool;

    @Option(names = "--policy", paramLabel = "NAME", description = "policy for --pool: single, lpu-only, disagg, afd or auto (default auto)")
    String policy;

    @Option(names = "--context", paramLabel = "C", description = "positions per sequence (default: the model's context length)")
    Integer context;

    @Option(names = "--max-batch", paramLabel = "N", defaultValue = "64", description = "sequences in flight at once (default ${DEFAULT-VALUE})")
    int maxBatch;

    @Option(names = "--max-batch-tokens", paramLabel = "N", defaultValue = "256",
            description = "tokens per engine step, decode rows plus prefill chunks (default ${DEFAULT-VALUE})")
    int maxBatchTokens;

    @Option(names = "--kv-blocks", paramLabel = "N", defaultValue = "0",
            description = "KV cache blocks; 0 sizes the pool for --max-batch full contexts (default ${DEFAULT-VALUE})")
    int kvBlocks;

    @Option(names = "--max-queue", paramLabel = "N", defaultValue = "1024",
            description = "requests waiting for admission before the server answers 429 (default ${DEFAULT-VALUE})")
    int maxQueue;

    @Option(names = "--max-body", paramLabel = "BYTES", defaultValue = "1048576",
            description = "largest request body; larger ones get 413 (default ${DEFAULT-VALUE})")
    long maxBody;

    @Option(names = "--chat-template", paramLabel = "NAME",
            description = "llama2, llama3 or chatml instead of the model's tokenizer.chat_template")
    String chatTemplate;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter err = spec.commandLine().getErr();
        if (port < 0 || port > 65535) {
            throw new TandemException("--port " + port + ": must be in [0, 65535]");
        }
        if (maxBody < 1) {
            throw new TandemException("--max-body " + maxBody + ": must be >= 1");
        }
        if (chatTemplate != null && !chatTemplate.matches("(?i)llama2|llama3|chatml")) {
            throw new TandemException("--chat-template " + chatTemplate + ": expected llama2, llama3 or chatml");
        }
        if (policy != null && pool == null) {
            throw new TandemException("--policy " + policy + " needs --pool: it chooses a plan on a pool of devices");
        }
        if (pool != null && spec.commandLine().getParseResult().hasMatchedOption("--device")) {
            throw new TandemException("give --pool or --device, not both: the plan for --pool decides the device");
        }
        try (Model m = loadModel()) {
            int ctx = context == null ? m.config().contextLength() : context;
            EngineConfig config = EngineConfig.defaults(ctx).maxSequences(maxBatch).maxBatchTokens(maxBatchTokens)
                    .kvBlocks(kvBlocks).queueCapacity(maxQueue);
            if (pool != null) {
                Plan plan = ServePlacement.compile(m, pool, policy == null ? "auto" : policy, maxBatch, ctx);
                err.printf("tandem serve: plan %s on %s: %s%n", plan.chosen(), plan.pool(), plan.roles());
                try (Engine engine = Engine.open(m, plan, config)) {
                    return serve(m, engine, err);
                }
            }
            try (Device d = openDevice(device); Engine engine = Engine.open(m, d, config)) {
                return serve(m, engine, err);
            }
        }
    }

    private int serve(Model m, Engine engine, PrintWriter err) throws InterruptedException {
        String id = model == null ? EmbeddedModel.NAME : model.getFileName().toString().replaceFirst("\\.(gguf|bin)$", "");
        ServerOptions options = new ServerOptions(host, port, apiKey, maxBody, chatTemplate, 16);
        TandemServer server;
        try {
            server = TandemServer.start(engine, m, id, options);
        } catch (IOException e) {
            throw new TandemException("cannot listen on " + host + ":" + port + ": " + e.getMessage());
        }
        try (server) {
            Runtime.getRuntime().addShutdownHook(new Thread(server::close, "tandem-serve-stop"));
            err.printf("tandem serve: %s on %s, http://%s:%d/v1 (chat template: %s, %d KV blocks of %d)%n",
                    id, engine.deviceName(), host, server.port(), server.chatTemplate(), engine.pool().blocks(), engine.pool().blockSize());
            err.flush();
            server.join();
        }
        return 0;
    }

    private Model loadModel() {
        if (model == null) {
            return Model.embedded();
        }
        if (!Files.isRegularFile(model) || !Files.isReadable(model)) {
            throw new ModelFormatException(model, "not a readable file");
        }
        return Model.load(model);
    }

    private static Device openDevice(String device) {
        DeviceRequest request = DeviceRequest.parse(device);
        return Devices.open(request.name().equals("auto") ? null : request.name(), request.options());
    }
}
