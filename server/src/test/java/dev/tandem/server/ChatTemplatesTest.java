package dev.tandem.server;

import dev.tandem.runtime.Model;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ChatTemplatesTest {
    private static final List<Map<String, Object>> CHAT = List.of(
            Map.of("role", "system", "content", "Be brief."),
            Map.of("role", "user", "content", "Hi"),
            Map.of("role", "assistant", "content", "Hello."),
            Map.of("role", "user", "content", "Bye"));

    @Test
    void builtInFallbacksRenderTheirFormats() {
        try (Model m = Model.synthetic()) {
            assertEquals("llama2", ChatTemplates.forModel(m, null).name(), "a vocabulary without chat markers");
            assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
                            + "<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n",
                    ChatTemplates.forModel(m, "chatml").render(CHAT));
            assertEquals("<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                            + "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                            + "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
                            + "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>"
                            + "<|start_header_id|>assistant<|end_header_id|>\n\n",
                    ChatTemplates.forModel(m, "llama3").render(CHAT));
            String llama2 = ChatTemplates.forModel(m, "llama2").render(CHAT);
            assertTrue(llama2.startsWith("[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello. "), llama2);
            assertTrue(llama2.endsWith("[INST] Bye [/INST]"), llama2);
        }
    }

    @Test
    void aHuggingFaceStyleTemplateRendersAndMayRefuse() {
        String zephyr = "{% for message in messages %}{% if message['role'] == 'tool' %}"
                + "{{ raise_exception('tools are not supported') }}{% endif %}"
                + "<|{{ message['role'] }}|>\n{{ message['content'] }}{{ eos_token }}\n{% endfor %}"
                + "{% if add_generation_prompt %}<|assistant|>\n{% endif %}";
        ChatTemplates t = ChatTemplates.of(zephyr, "test", "<s>", "</s>");
        assertEquals("<|user|>\nHi</s>\n<|assistant|>\n", t.render(List.of(Map.of("role", "user", "content", "Hi"))));
        ApiException refused = assertThrows(ApiException.class,
                () -> t.render(List.of(Map.of("role", "tool", "content", "{}"))));
        assertEquals(400, refused.status);
        assertEquals("messages", refused.param);
        assertTrue(refused.getMessage().contains("tools are not supported"), refused.getMessage());
    }
}
