package dev.tandem.runtime.cli;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.error.SafeText;
import dev.tandem.runtime.model.ArchOptions;
import dev.tandem.runtime.model.LlamaConfig;
import dev.tandem.runtime.model.TensorEntry;
import dev.tandem.runtime.tokenizer.ByteLevelBpeTokenizer;
import dev.tandem.runtime.tokenizer.SentencePieceTokenizer;
import dev.tandem.runtime.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What {@code tandem info} says about a model beyond its shape, one line each: the architecture and
 * its options, the formats of each kind of tensor, the vocabulary, the chat template, and what in the
 * file Tandem does not use or a backend cannot run.
 */
final class ModelSummary {
    private ModelSummary() {}

    /** Tensor kinds by name, in the order info lists them; a name matching none is not used by Tandem. */
    private static final Map<String, Pattern> KINDS = new LinkedHashMap<>();

    static {
        KINDS.put("embedding", Pattern.compile("token_embd\\.weight"));
        KINDS.put("attention", Pattern.compile("blk\\.\\d+\\.attn_(q|k|v|output)\\.weight"));
        KINDS.put("attention biases", Pattern.compile("blk\\.\\d+\\.attn_(q|k|v)\\.bias"));
        KINDS.put("ffn", Pattern.compile("blk\\.\\d+\\.ffn_(gate|up|down)\\.weight"));
        KINDS.put("router", Pattern.compile("blk\\.\\d+\\.ffn_gate_inp(_shexp)?\\.weight"));
        KINDS.put("experts", Pattern.compile("blk\\.\\d+\\.ffn_(gate|up|down)_exps\\.weight"));
        KINDS.put("shared expert", Pattern.compile("blk\\.\\d+\\.ffn_(gate|up|down)_shexp\\.weight"));
        KINDS.put("norms", Pattern.compile("(blk\\.\\d+\\.(attn_norm|ffn_norm|attn_q_norm|attn_k_norm)|output_norm)\\.weight"));
        KINDS.put("output", Pattern.compile("output\\.weight"));
        KINDS.put("rope factors", Pattern.compile("rope_freqs\\.weight"));
    }

    static String architecture(LlamaConfig c) {
        ArchOptions a = c.arch();
        List<String> options = new ArrayList<>(a.features(c));
        if (a.neoxRope()) {
            options.add("NeoX rotation (rows of wq/wk reordered at load)");
        }
        return a.architecture() + (options.isEmpty() ? "" : " (" + String.join("; ", options) + ")");
    }

    /** "attention Q8_0; ffn Q4_K, Q6_K; ..." over the kinds the file has. */
    static String formats(List<TensorEntry> tensors) {
        Map<String, Set<String>> byKind = new LinkedHashMap<>();
        for (String kind : KINDS.keySet()) {
            for (TensorEntry t : tensors) {
                if (KINDS.get(kind).matcher(t.name()).matches()) {
                    byKind.computeIfAbsent(kind, k -> new TreeSet<>()).add(t.type());
                }
            }
        }
        List<String> parts = new ArrayList<>();
        byKind.forEach((kind, types) -> parts.add(kind + " " + String.join(", ", types)));
        return parts.isEmpty() ? "F32 (llama2.c checkpoint)" : String.join("; ", parts);
    }

    static String vocabulary(Model m) {
        return vocabulary(m.tokenizer());
    }

    static String vocabulary(java.util.Optional<Tokenizer> tokenizer) {
        if (tokenizer.isEmpty()) {
            return "none (the file has no tokenizer: use --prompt-ids or --tokenizer FILE)";
        }
        Tokenizer t = tokenizer.get();
        String type = t instanceof SentencePieceTokenizer ? "SentencePiece (llama)"
                : t instanceof ByteLevelBpeTokenizer bpe ? "byte-level BPE (gpt2, pre-tokenizer " + bpe.preTokenizer().name().toLowerCase() + ")"
                : t.getClass().getSimpleName();
        return type + ", " + t.vocabSize() + " pieces" + (t.unknown() >= 0 ? ", unknown piece " + t.unknown() : ", byte fallback");
    }

    static String chatTemplate(Model m) {
        return chatTemplate(m.chatTemplate());
    }

    static String chatTemplate(java.util.Optional<String> template) {
        return template.map(t -> "present (" + t.length() + " characters)").orElse("none");
    }

    /** One line per thing the file holds that Tandem ignores or some backend cannot run; "nothing" when none. */
    static List<String> unsupported(Model m) {
        List<String> lines = new ArrayList<>();
        boolean gguf = m.formatDescription().startsWith("GGUF"); // a llama2.c checkpoint's sections are all read
        Map<String, Integer> unused = new LinkedHashMap<>();
        for (TensorEntry t : m.tensors()) {
            boolean known = KINDS.values().stream().anyMatch(p -> p.matcher(t.name()).matches())
                    || !gguf;
            if (!known) {
                Matcher layer = Pattern.compile("blk\\.\\d+\\.").matcher(t.name());
                unused.merge(layer.replaceFirst("blk.N."), 1, Integer::sum);
            }
        }
        unused.forEach((name, count) -> lines.add("tensor " + SafeText.quote(name) + (count > 1 ? " (" + count + " layers)" : "")
                + " is not used by Tandem"));
        Set<String> kQuants = new TreeSet<>();
        for (TensorEntry t : m.tensors()) {
            if (t.type().endsWith("_K")) kQuants.add(t.type());
        }
        if (!kQuants.isEmpty()) {
            lines.add(String.join(", ", kQuants) + " weights run on cpu only (opencl and the LPU refuse them)");
        }
        return lines.isEmpty() ? List.of("nothing") : lines;
    }
}
