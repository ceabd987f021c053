package dev.tandem.runtime.model;

import dev.tandem.runtime.error.ModelFormatException;
import dev.tandem.runtime.error.SafeText;
import dev.tandem.runtime.format.GgmlType;
import dev.tandem.runtime.format.GgufFile;
import dev.tandem.runtime.format.GgufTensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * What in a GGUF file stops Tandem from loading it, found from its header alone and all at once (the
 * loader stops at the first problem): an architecture without a reader, tensor types without a
 * kernel, mixture-of-experts counts that disagree with each other or with the expert tensors. One
 * line each, for {@code tandem info} on a file it cannot load. The wording is the loader's, so both
 * name the same key and value.
 */
public final class GgufProblems {
    private GgufProblems() {}

    private static final Pattern EXPERT_TENSOR = Pattern.compile("blk\\.\\d+\\.ffn_(gate|up|down)_exps\\.weight");

    /** The problems found; empty when the header holds none of these (the loader may still find others). */
    public static List<String> of(GgufFile gguf) {
        List<String> lines = new ArrayList<>();
        Object archValue = gguf.metadata().get("general.architecture");
        String arch = archValue instanceof String s ? s : null;
        if (arch == null) {
            lines.add("metadata key 'general.architecture' is " + (archValue == null ? "missing" : "not a string"));
        } else if (!GgufLlamaReader.supports(arch)) {
            lines.add(GgufLlamaReader.unsupportedArchitecture(arch));
        }
        lines.addAll(unsupportedTypes(gguf));
        if (arch != null) {
            try {
                lines.addAll(expertCounts(gguf, arch));
            } catch (ModelFormatException e) {
                lines.add(problemOf(e));
            }
        }
        return lines;
    }

    /** The problem a loader's exception states, without the file name it starts with. */
    public static String problemOf(ModelFormatException e) {
        String prefix = SafeText.path(e.file()) + (e.offset() >= 0 ? " at offset " + e.offset() : "") + ": ";
        String m = e.getMessage();
        return m.startsWith(prefix) ? m.substring(prefix.length()) : m;
    }

    /** One line per type Tandem has no kernel for, naming how many tensors have it and the first. */
    private static List<String> unsupportedTypes(GgufFile gguf) {
        Map<GgmlType, List<String>> byType = new LinkedHashMap<>();
        for (GgufTensor t : gguf.tensors()) {
            if (!t.type().isSupported()) {
                byType.computeIfAbsent(t.type(), k -> new ArrayList<>()).add(t.name());
            }
        }
        List<String> lines = new ArrayList<>();
        byType.forEach((type, names) -> lines.add("tensor type " + type.name() + " (" + names.size()
                + (names.size() == 1 ? " tensor: " : " tensors, the first ") + SafeText.quote(names.get(0))
                + ") is not supported (supported: " + GgmlType.supportedNames() + ")"));
        return lines;
    }

    /** The mixture's counts against each other and against every expert tensor's last dimension. */
    private static List<String> expertCounts(GgufFile gguf, String arch) {
        String countKey = arch + ".expert_count", usedKey = arch + ".expert_used_count";
        List<String> lines = new ArrayList<>();
        long experts = gguf.get(countKey).isPresent() ? gguf.requireLong(countKey) : 0;
        boolean mixtureArch = arch.equals("qwen2moe") || arch.equals("qwen3moe");
        if (experts <= 0) {
            if (mixtureArch) {
                lines.add("metadata key " + SafeText.quote(countKey) + " is missing or 0, but architecture " + arch + " is a mixture of experts");
            }
            return lines;
        }
        if (gguf.get(usedKey).isEmpty()) {
            lines.add("metadata key " + SafeText.quote(usedKey) + " is missing, but " + SafeText.quote(countKey) + " is " + experts);
        } else {
            long used = gguf.requireLong(usedKey);
            if (used <= 0 || used > experts) {
                lines.add("metadata key " + SafeText.quote(usedKey) + " is " + used + ": but " + SafeText.quote(countKey) + " is " + experts);
            }
        }
        List<GgufTensor> disagreeing = new ArrayList<>();
        int expertTensors = 0;
        for (GgufTensor t : gguf.tensors()) {
            if (EXPERT_TENSOR.matcher(t.name()).matches()) {
                expertTensors++;
                if (t.nDims() != 3 || t.dim(2) != experts) {
                    disagreeing.add(t);
                }
            }
        }
        if (expertTensors == 0) {
            lines.add("metadata key " + SafeText.quote(countKey) + " is " + experts + " but the file has no expert tensors"
                    + " (blk.N.ffn_gate_exps.weight)");
        } else if (!disagreeing.isEmpty()) {
            GgufTensor first = disagreeing.get(0);
            lines.add("metadata key " + SafeText.quote(countKey) + " is " + experts + ": but tensor " + SafeText.quote(first.name())
                    + " has shape ne=" + Arrays.toString(first.dims()) + " (the last dimension counts the experts)"
                    + (disagreeing.size() > 1 ? "; " + (disagreeing.size() - 1) + " more expert tensors disagree" : ""));
        }
        return lines;
    }
}
