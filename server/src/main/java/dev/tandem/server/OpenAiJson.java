package dev.tandem.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;

/** The response bodies and stream chunks of OpenAI's completions and chat completions APIs. */
final class OpenAiJson {
    private final ObjectMapper json;
    private final String id;
    private final String model;
    private final boolean chat;
    private final long created = System.currentTimeMillis() / 1000;

    OpenAiJson(ObjectMapper json, String id, String model, boolean chat) {
        this.json = json;
        this.id = id;
        this.model = model;
        this.chat = chat;
    }

    private ObjectNode envelope(String object) {
        ObjectNode o = json.createObjectNode();
        o.put("id", id).put("object", object).put("created", created).put("model", model);
        return o;
    }

    /** The whole answer of a non-streaming request; logprobs null when the request did not ask for them. */
    ObjectNode response(Generation.Outcome outcome, int promptTokens, boolean returnTokenIds, ObjectNode logprobs) {
        ObjectNode o = envelope(chat ? "chat.completion" : "text_completion");
        ObjectNode choice = o.putArray("choices").addObject().put("index", 0);
        if (chat) {
            choice.putObject("message").put("role", "assistant").put("content", outcome.text()).putNull("refusal");
        } else {
            choice.put("text", outcome.text());
        }
        choice.set("logprobs", logprobs == null ? NullNode.getInstance() : logprobs);
        choice.put("finish_reason", outcome.finishReason());
        if (returnTokenIds) {
            ids(choice, outcome.ids());
        }
        usage(o, promptTokens, outcome.ids().size());
        return o;
    }

    /**
     * A stream chunk: text (for chat, a delta; role marks the first), the logprobs of its token (or
     * null), finish reason null until the last.
     */
    ObjectNode chunk(String text, boolean role, List<Integer> ids, ObjectNode logprobs, String finishReason) {
        ObjectNode o = envelope(chat ? "chat.completion.chunk" : "text_completion");
        ObjectNode choice = o.putArray("choices").addObject().put("index", 0);
        if (chat) {
            ObjectNode delta = choice.putObject("delta");
            if (role) {
                delta.put("role", "assistant");
            }
            if (text != null) {
                delta.put("content", text);
            }
        } else {
            choice.put("text", text == null ? "" : text);
        }
        choice.set("logprobs", logprobs == null ? NullNode.getInstance() : logprobs);
        if (finishReason == null) {
            choice.putNull("finish_reason");
        } else {
            choice.put("finish_reason", finishReason);
        }
        if (ids != null) {
            ids(choice, ids);
        }
        return o;
    }

    /** The last chunk when stream_options.include_usage asks for it: no choices, the usage. */
    ObjectNode usageChunk(int promptTokens, int completionTokens) {
        ObjectNode o = envelope(chat ? "chat.completion.chunk" : "text_completion");
        o.putArray("choices");
        usage(o, promptTokens, completionTokens);
        return o;
    }

    private static void ids(ObjectNode choice, List<Integer> ids) {
        ArrayNode a = choice.putArray("token_ids");
        ids.forEach(a::add);
    }

    private static void usage(ObjectNode o, int prompt, int completion) {
        o.putObject("usage").put("prompt_tokens", prompt).put("completion_tokens", completion)
                .put("total_tokens", prompt + completion);
    }
}
