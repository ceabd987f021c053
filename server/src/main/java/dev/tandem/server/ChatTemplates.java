package dev.tandem.server;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.FatalTemplateErrorsException;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import dev.tandem.runtime.Model;
import dev.tandem.runtime.tokenizer.Tokenizer;

import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Turns chat messages into a prompt: the GGUF's {@code tokenizer.chat_template} (Jinja, as Hugging
 * Face ships it), rendered with Jinjava; a file without one gets a built-in template chosen by its
 * vocabulary (Llama-3's header tokens, ChatML's im_start, else Llama-2's [INST]).
 */
final class ChatTemplates {
    /** Llama-2 chat: the system prompt folded into the first user turn. */
    static final String LLAMA2 = """
            {%- for m in messages -%}
            {%- if m.role == 'system' -%}{%- set sys = m.content -%}
            {%- elif m.role == 'user' -%}[INST] {% if sys is defined and loop.index0 == 1 %}<<SYS>>
            {{ sys }}
            <</SYS>>

            {% endif %}{{ m.content | trim }} [/INST]
            {%- elif m.role == 'assistant' -%}{{ ' ' }}{{ m.content | trim }} {{ eos_token }}{{ bos_token }}
            {%- endif -%}
            {%- endfor -%}""";
    /** Llama-3 instruct's header format. */
    static final String LLAMA3 = """
            {%- for m in messages -%}<|start_header_id|>{{ m.role }}<|end_header_id|>

            {{ m.content | trim }}<|eot_id|>{%- endfor -%}
            {%- if add_generation_prompt -%}<|start_header_id|>assistant<|end_header_id|>

            {% endif -%}""";
    /** ChatML (Qwen, many fine-tunes). */
    static final String CHATML = """
            {%- for m in messages -%}<|im_start|>{{ m.role }}
            {{ m.content }}<|im_end|>
            {% endfor -%}
            {%- if add_generation_prompt -%}<|im_start|>assistant
            {% endif -%}""";

    private final Jinjava jinjava;
    private final String template;
    private final String name;
    private final String bos, eos;

    private ChatTemplates(String template, String name, String bos, String eos) {
        this.jinjava = new Jinjava(JinjavaConfig.newBuilder().withFailOnUnknownTokens(false).build());
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception",
                ChatTemplates.class, "raiseException", String.class));
        this.template = template;
        this.name = name;
        this.bos = bos;
        this.eos = eos;
    }

    /** A template given as text (tests, and files whose template is read elsewhere). */
    static ChatTemplates of(String template, String name, String bos, String eos) {
        return new ChatTemplates(template, name, bos, eos);
    }

    /**
     * The template for model: override (llama2, llama3, chatml) when given, else the file's own, else the
     * fallback its vocabulary suggests.
     */
    static ChatTemplates forModel(Model model, String override) {
        Tokenizer t = model.tokenizer().orElse(null);
        String bos = t == null || t.bos() < 0 ? "" : t.piece(t.bos());
        String eos = t == null || t.eos() < 0 ? "" : t.piece(t.eos());
        if (override != null) {
            return switch (override.toLowerCase(Locale.ROOT)) {
                case "llama2" -> new ChatTemplates(LLAMA2, "llama2", bos, eos);
                case "llama3" -> new ChatTemplates(LLAMA3, "llama3", bos, eos);
                case "chatml" -> new ChatTemplates(CHATML, "chatml", bos, eos);
                default -> throw new IllegalArgumentException("--chat-template " + override
                        + ": expected llama2, llama3 or chatml");
            };
        }
        if (model.chatTemplate().isPresent()) {
            return new ChatTemplates(model.chatTemplate().get(), "tokenizer.chat_template", bos, eos);
        }
        if (t != null && hasPiece(t, "<|start_header_id|>")) {
            return new ChatTemplates(LLAMA3, "llama3", bos, eos);
        }
        if (t != null && hasPiece(t, "<|im_start|>")) {
            return new ChatTemplates(CHATML, "chatml", bos, eos);
        }
        return new ChatTemplates(LLAMA2, "llama2", bos, eos);
    }

    /** Which template this is: "tokenizer.chat_template" or a built-in's name. */
    String name() { return name; }

    /**
     * The prompt text for messages, ending with the assistant's turn opened. A leading BOS the
     * template writes is dropped: the caller encodes with BOS as an id, not as text.
     * @throws ApiException (400, messages) when the template refuses the messages or fails
     */
    String render(List<Map<String, Object>> messages) {
        Map<String, Object> vars = new HashMap<>();
        vars.put("messages", messages);
        vars.put("bos_token", bos);
        vars.put("eos_token", eos);
        vars.put("add_generation_prompt", true);
        String out;
        try {
            out = jinjava.render(template, vars);
        } catch (FatalTemplateErrorsException e) {
            String refusal = null;
            for (TemplateError error : e.getErrors()) {
                for (Throwable t = error.getException(); t != null && refusal == null; t = t.getCause()) {
                    refusal = t instanceof TemplateRefusal ? t.getMessage() : null;
                }
            }
            throw ApiException.invalid("messages", "the chat template (" + name + ") "
                    + (refusal != null ? "refused the messages: " + refusal : "failed: " + oneLine(e.getMessage())));
        } catch (RuntimeException e) {
            throw ApiException.invalid("messages", "the chat template (" + name + ") failed: " + oneLine(e.getMessage()));
        }
        return !bos.isEmpty() && out.startsWith(bos) ? out.substring(bos.length()) : out;
    }

    /** raise_exception(message), which Hugging Face templates call to refuse a conversation. */
    public static String raiseException(String message) {
        throw new TemplateRefusal(message);
    }

    private static boolean hasPiece(Tokenizer t, String piece) {
        for (int id = 0; id < t.vocabSize(); id++) {
            if (t.piece(id).equals(piece)) {
                return true;
            }
        }
        return false;
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.replace('\n', ' ');
    }

    /** What raise_exception throws. */
    static final class TemplateRefusal extends RuntimeException {
        TemplateRefusal(String message) { super(message, null, false, false); }
    }
}
