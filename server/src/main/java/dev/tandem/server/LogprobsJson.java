package dev.tandem.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tandem.runtime.TokenLogprobs;
import dev.tandem.runtime.tokenizer.Tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A choice's {@code logprobs} object in OpenAI's two shapes: chat's {@code {content: [{token,
 * logprob, bytes, top_logprobs}]}} and completions' {@code {tokens, token_logprobs, top_logprobs,
 * text_offset}}. One per request: it follows the previous token (SentencePiece's leading space
 * depends on it) and the text offset from one call to the next, so a stream renders token by token
 * what a whole response renders at once.
 */
final class LogprobsJson {
    private final ObjectMapper json;
    private final Tokenizer tokenizer;
    private final boolean chat;
    private int prev;
    private int offset;

    /** tokenizer may be null (a model without a vocabulary): tokens are then named "token_id:N", as vLLM does. */
    LogprobsJson(ObjectMapper json, Tokenizer tokenizer, boolean chat, int lastPromptId) {
        this.json = json;
        this.tokenizer = tokenizer;
        this.chat = chat;
        this.prev = lastPromptId;
    }

    /** The logprobs object for these tokens, which follow those of the previous call. */
    ObjectNode render(List<Integer> ids, List<TokenLogprobs> logprobs) {
        ObjectNode o = json.createObjectNode();
        if (chat) {
            ArrayNode content = o.putArray("content");
            for (int i = 0; i < ids.size(); i++) {
                TokenLogprobs lp = logprobs.get(i);
                ObjectNode entry = entry(content.addObject(), ids.get(i), lp.logprob());
                ArrayNode top = entry.putArray("top_logprobs");
                for (int k = 0; k < lp.topIds().length; k++) {
                    entry(top.addObject(), lp.topIds()[k], lp.topLogprobs()[k]);
                }
                prev = ids.get(i);
            }
            o.putNull("refusal");
            return o;
        }
        ArrayNode tokens = o.putArray("tokens"), tokenLogprobs = o.putArray("token_logprobs"),
                top = o.putArray("top_logprobs"), offsets = o.putArray("text_offset");
        for (int i = 0; i < ids.size(); i++) {
            TokenLogprobs lp = logprobs.get(i);
            String token = text(prev, ids.get(i));
            tokens.add(token);
            tokenLogprobs.add(lp.logprob());
            ObjectNode alternatives = top.addObject();
            for (int k = 0; k < lp.topIds().length; k++) {
                String alt = text(prev, lp.topIds()[k]);
                if (!alternatives.has(alt)) {
                    // Two ids may print alike (say, halves of one character); the likelier one names it.
                    alternatives.put(alt, lp.topLogprobs()[k]);
                }
            }
            offsets.add(offset);
            offset += token.length();
            prev = ids.get(i);
        }
        return o;
    }

    private ObjectNode entry(ObjectNode e, int id, float logprob) {
        byte[] bytes = bytes(prev, id);
        e.put("token", text(prev, id)).put("logprob", logprob);
        ArrayNode b = e.putArray("bytes");
        for (byte x : bytes) {
            b.add(x & 0xFF);
        }
        return e;
    }

    private String text(int prevId, int id) {
        if (tokenizer == null) {
            return "token_id:" + id;
        }
        if (tokenizer.isControl(id)) {
            return tokenizer.piece(id);
        }
        return new String(bytes(prevId, id), StandardCharsets.UTF_8);
    }

    private byte[] bytes(int prevId, int id) {
        if (tokenizer == null) {
            return new byte[0];
        }
        return tokenizer.isControl(id) ? tokenizer.piece(id).getBytes(StandardCharsets.UTF_8) : tokenizer.decodePiece(prevId, id);
    }
}
