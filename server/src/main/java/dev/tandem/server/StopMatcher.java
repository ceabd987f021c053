package dev.tandem.server;

import java.util.List;

/**
 * Finds OpenAI {@code stop} strings in generated text as it streams, holding back a tail that may be
 * the start of one, so the text handed on never contains a stop string or part of one that matched.
 */
final class StopMatcher {
    private final List<String> stops;
    private final StringBuilder held = new StringBuilder();
    private boolean stopped;

    StopMatcher(List<String> stops) {
        this.stops = stops;
    }

    /** Adds a piece of text; returns what may be emitted now ("" while a stop string may be forming). */
    String accept(String piece) {
        if (stopped) {
            return "";
        }
        held.append(piece);
        int cut = -1;
        for (String s : stops) {
            int at = held.indexOf(s);
            if (at >= 0 && (cut < 0 || at < cut)) {
                cut = at;
            }
        }
        if (cut >= 0) {
            stopped = true;
            String out = held.substring(0, cut);
            held.setLength(0);
            return out;
        }
        int keep = 0;
        for (String s : stops) {
            for (int n = Math.min(s.length() - 1, held.length()); n > keep; n--) {
                if (held.toString().regionMatches(held.length() - n, s, 0, n)) {
                    keep = n;
                    break;
                }
            }
        }
        String out = held.substring(0, held.length() - keep);
        held.delete(0, held.length() - keep);
        return out;
    }

    /** Whether a stop string was seen: the generation should end. */
    boolean stopped() { return stopped; }

    /** The held tail at the end of a generation that stopped for another reason. */
    String flush() {
        String out = held.toString();
        held.setLength(0);
        return out;
    }
}
