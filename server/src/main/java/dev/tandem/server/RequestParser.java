package dev.tandem.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.runtime.generate.Sampling;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a request body into a {@link GenerationRequest}, checking each field's type and range and
 * naming the field in the 400 it throws otherwise. Unknown fields are ignored, as OpenAI's clients
 * send fields a server may not know; known fields of the wrong type are errors.
 */
final class RequestParser {
    private static final int MAX_STOP_STRINGS = 4;
    private final ObjectMapper json;

    RequestParser(ObjectMapper json) {
        this.json = json;
    }

    GenerationRequest parse(byte[] body, boolean chat) {
        JsonNode root;
        try {
            root = json.readTree(body);
        } catch (JsonProcessingException e) {
            String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr()
                    + ", column " + e.getLocation().getColumnNr();
            throw ApiException.invalid(null, "malformed JSON" + where + ": " + firstLine(e.getOriginalMessage()));
        } catch (IOException e) {
            throw ApiException.invalid(null, "unreadable body: " + e.getMessage());
        }
        if (!(root instanceof ObjectNode r)) {
            throw ApiException.invalid(null, "the body must be a JSON object");
        }
        String model = text(r, "model");
        String promptText = null;
        int[] promptIds = null;
        List<Map<String, Object>> messages = null;
        if (chat) {
            messages = messages(r);
        } else {
            JsonNode p = required(r, "prompt");
            if (p.isTextual()) {
                promptText = p.asText();
            } else if (p.isArray() && p.size() == 1 && (p.get(0).isTextual() || p.get(0).isArray())) {
                // A batch of one prompt, as OpenAI's API allows; a larger batch needs n > 1 choices.
                if (p.get(0).isTextual()) {
                    promptText = p.get(0).asText();
                } else {
                    promptIds = ids(p.get(0), "prompt");
                }
            } else if (p.isArray()) {
                promptIds = ids(p, "prompt");
            } else {
                throw ApiException.invalid("prompt", "prompt must be a string or a list of token ids");
            }
        }
        Integer maxTokens = integer(r, "max_tokens");
        Integer maxCompletion = integer(r, "max_completion_tokens");
        if (maxCompletion != null) {
            maxTokens = maxCompletion;
        }
        if (maxTokens != null && maxTokens <= 0) {
            throw ApiException.invalid(maxCompletion != null ? "max_completion_tokens" : "max_tokens",
                    "max_tokens must be > 0, got " + maxTokens);
        }
        float temperature = number(r, "temperature", 1f);
        if (!(temperature >= 0 && temperature <= 2)) {
            throw ApiException.invalid("temperature", "temperature must be in [0, 2], got " + temperature);
        }
        float topP = number(r, "top_p", 1f);
        if (!(topP > 0 && topP <= 1)) {
            throw ApiException.invalid("top_p", "top_p must be in (0, 1], got " + topP);
        }
        Integer topK = integer(r, "top_k");
        if (topK != null && topK < -1) {
            throw ApiException.invalid("top_k", "top_k must be >= 0 (0 or -1 disable it), got " + topK);
        }
        float minP = number(r, "min_p", 0f);
        if (!(minP >= 0 && minP <= 1)) {
            throw ApiException.invalid("min_p", "min_p must be in [0, 1], got " + minP);
        }
        Sampling.Penalties penalties = penalties(r);
        Integer n = integer(r, "n");
        if (n != null && n != 1) {
            throw ApiException.invalid("n", "only n = 1 is supported, got " + n);
        }
        int logprobs = chat ? chatLogprobs(r) : completionLogprobs(r);
        JsonNode seedNode = r.get("seed");
        Long seed = null;
        if (seedNode != null && !seedNode.isNull()) {
            if (!seedNode.isIntegralNumber() || !seedNode.canConvertToLong()) {
                throw ApiException.invalid("seed", "seed must be an integer");
            }
            seed = seedNode.asLong();
        }
        boolean stream = bool(r, "stream");
        boolean includeUsage = false;
        JsonNode so = r.get("stream_options");
        if (so != null && !so.isNull()) {
            if (!so.isObject()) {
                throw ApiException.invalid("stream_options", "stream_options must be an object");
            }
            includeUsage = bool((ObjectNode) so, "include_usage");
        }
        return new GenerationRequest(chat, model, promptText, promptIds, messages, maxTokens, temperature, topP,
                topK == null || topK < 0 ? 0 : topK, minP, penalties, seed, stops(r), stream, includeUsage,
                bool(r, "return_token_ids"), bool(r, "ignore_eos"), logprobs);
    }

    /**
     * OpenAI's presence_penalty and frequency_penalty (each in [-2, 2]) and vLLM's repetition_penalty
     * (> 0, 1 none), over every token of the prompt and the output so far.
     */
    private static Sampling.Penalties penalties(ObjectNode r) {
        float presence = number(r, "presence_penalty", 0f);
        if (!(presence >= -2 && presence <= 2)) {
            throw ApiException.invalid("presence_penalty", "presence_penalty must be in [-2, 2], got " + presence);
        }
        float frequency = number(r, "frequency_penalty", 0f);
        if (!(frequency >= -2 && frequency <= 2)) {
            throw ApiException.invalid("frequency_penalty", "frequency_penalty must be in [-2, 2], got " + frequency);
        }
        float repetition = number(r, "repetition_penalty", 1f);
        if (!(repetition > 0) || Float.isInfinite(repetition)) {
            throw ApiException.invalid("repetition_penalty", "repetition_penalty must be a finite number > 0 (1 disables it), got " + repetition);
        }
        return new Sampling.Penalties(repetition, -1, presence, frequency);
    }

    /** Completions: {@code logprobs: N}, the N most likely tokens at each position (-1 when absent). */
    private static int completionLogprobs(ObjectNode r) {
        JsonNode v = r.get("logprobs");
        if (v == null || v.isNull() || v.isBoolean() && !v.asBoolean()) {
            return -1;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() < 0 || v.asInt() > Sampling.MAX_LOGPROBS) {
            throw ApiException.invalid("logprobs", "logprobs must be an integer in [0, " + Sampling.MAX_LOGPROBS + "], got " + v);
        }
        return v.asInt();
    }

    /** Chat: {@code logprobs: true} and {@code top_logprobs: N}; -1 when logprobs is absent or false. */
    private static int chatLogprobs(ObjectNode r) {
        boolean on = bool(r, "logprobs");
        Integer top = integer(r, "top_logprobs");
        if (top != null && (top < 0 || top > Sampling.MAX_LOGPROBS)) {
            throw ApiException.invalid("top_logprobs", "top_logprobs must be in [0, " + Sampling.MAX_LOGPROBS + "], got " + top);
        }
        if (top != null && !on) {
            throw ApiException.invalid("top_logprobs", "top_logprobs needs logprobs: true");
        }
        return on ? (top == null ? 0 : top) : -1;
    }

    private static List<Map<String, Object>> messages(ObjectNode r) {
        JsonNode m = required(r, "messages");
        if (!m.isArray() || m.isEmpty()) {
            throw ApiException.invalid("messages", "messages must be a non-empty list of {role, content} objects");
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i = 0; i < m.size(); i++) {
            String at = "messages[" + i + "]";
            JsonNode e = m.get(i);
            if (!e.isObject() || !e.path("role").isTextual()) {
                throw ApiException.invalid(at, at + " must be an object with a string role");
            }
            JsonNode c = e.get("content");
            String content;
            if (c == null || c.isNull()) {
                content = "";
            } else if (c.isTextual()) {
                content = c.asText();
            } else if (c.isArray()) {
                // Content parts: only text parts make sense for a text model.
                StringBuilder text = new StringBuilder();
                for (JsonNode part : c) {
                    if (!part.path("type").asText().equals("text") || !part.path("text").isTextual()) {
                        throw ApiException.invalid(at + ".content", "only text content parts are supported");
                    }
                    text.append(part.get("text").asText());
                }
                content = text.toString();
            } else {
                throw ApiException.invalid(at + ".content", at + ".content must be a string or a list of text parts");
            }
            Map<String, Object> message = new LinkedHashMap<>();
            message.put("role", e.get("role").asText());
            message.put("content", content);
            out.add(message);
        }
        return out;
    }

    private static List<String> stops(ObjectNode r) {
        JsonNode s = r.get("stop");
        if (s == null || s.isNull()) {
            return List.of();
        }
        if (s.isTextual()) {
            return s.asText().isEmpty() ? List.of() : List.of(s.asText());
        }
        if (!s.isArray() || s.size() > MAX_STOP_STRINGS) {
            throw ApiException.invalid("stop", "stop must be a string or a list of at most " + MAX_STOP_STRINGS + " strings");
        }
        List<String> out = new ArrayList<>();
        for (JsonNode e : s) {
            if (!e.isTextual()) {
                throw ApiException.invalid("stop", "stop must be a string or a list of strings");
            }
            if (!e.asText().isEmpty()) {
                out.add(e.asText());
            }
        }
        return out;
    }

    private static int[] ids(JsonNode a, String field) {
        if (a.isEmpty()) {
            throw ApiException.invalid(field, field + " is empty: give at least one token");
        }
        int[] ids = new int[a.size()];
        for (int i = 0; i < ids.length; i++) {
            if (!a.get(i).isIntegralNumber() || !a.get(i).canConvertToInt()) {
                throw ApiException.invalid(field, field + "[" + i + "] must be a token id (an integer)");
            }
            ids[i] = a.get(i).asInt();
        }
        return ids;
    }

    private static JsonNode required(ObjectNode r, String field) {
        JsonNode v = r.get(field);
        if (v == null || v.isNull()) {
            throw ApiException.invalid(field, "missing the required field " + field);
        }
        return v;
    }

    private static String text(ObjectNode r, String field) {
        JsonNode v = r.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw ApiException.invalid(field, field + " must be a string");
        }
        return v.asText();
    }

    private static Integer integer(ObjectNode r, String field) {
        JsonNode v = r.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw ApiException.invalid(field, field + " must be an integer");
        }
        return v.asInt();
    }

    private static float number(ObjectNode r, String field, float fallback) {
        JsonNode v = r.get(field);
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.isNumber()) {
            throw ApiException.invalid(field, field + " must be a number");
        }
        return (float) v.asDouble();
    }

    private static boolean bool(ObjectNode r, String field) {
        JsonNode v = r.get(field);
        if (v == null || v.isNull()) {
            return false;
        }
        if (!v.isBoolean()) {
            throw ApiException.invalid(field, field + " must be true or false");
        }
        return v.asBoolean();
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
