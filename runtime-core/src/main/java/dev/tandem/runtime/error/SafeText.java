package dev.tandem.runtime.error;

/**
 * Makes text that came from a file (tensor names, metadata keys and values) or from anywhere else
 * safe to print in an error message: control, format and other invisible characters are escaped, and
 * the length is bounded, so a crafted file can neither drive the terminal nor flood the log.
 */
public final class SafeText {
    /** The longest a quoted file string may print as, quotes and ellipsis included. */
    public static final int MAX_QUOTED = 80;
    /** The longest an error message may be. */
    public static final int MAX_MESSAGE = 300;
    /** Paths keep their last this many characters, so a deep temporary directory leaves room for the problem. */
    static final int MAX_PATH = 120;
    private static final String CUT = "...";

    private SafeText() {}

    /** {@code s} in single quotes, escaped and cut to at most {@link #MAX_QUOTED} characters. */
    public static String quote(String s) {
        if (s == null) {
            return "null";
        }
        return "'" + escapeAndCut(s, MAX_QUOTED - 2, true) + "'";
    }

    /**
     * One line of at most {@link #MAX_MESSAGE} printable characters. Backslashes stay as they are, so
     * what {@link #quote} escaped is not escaped twice.
     */
    public static String line(String message) {
        return escapeAndCut(message == null ? "null" : message, MAX_MESSAGE, false);
    }

    /** A path for a message: escaped, and when long, its end (where the file name is) kept. */
    public static String path(Object path) {
        String s = escapeAndCut(String.valueOf(path), Integer.MAX_VALUE, false);
        if (s.length() <= MAX_PATH) {
            return s;
        }
        int from = s.length() - (MAX_PATH - CUT.length());
        return CUT + s.substring(Character.isLowSurrogate(s.charAt(from)) ? from + 1 : from);
    }

    /** Escapes what would not print as itself and cuts the result to at most {@code max} characters. */
    static String escapeAndCut(String s, int max, boolean escapeBackslash) {
        StringBuilder sb = new StringBuilder(Math.min(s.length(), max) + 8);
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            // A quoted backslash is escaped too, so quoted text cannot forge one of our escapes.
            String piece = printable(cp) && (cp != '\\' || !escapeBackslash) ? new String(Character.toChars(cp)) : escape(cp);
            if (sb.length() + piece.length() > max - (i < s.length() ? CUT.length() : 0)) {
                // Past the budget: keep what fits and say that something was cut.
                while (sb.length() > max - CUT.length()) {
                    sb.setLength(sb.length() - 1);
                }
                if (!sb.isEmpty() && Character.isHighSurrogate(sb.charAt(sb.length() - 1))) {
                    sb.setLength(sb.length() - 1);
                }
                return sb.append(CUT).toString();
            }
            sb.append(piece);
        }
        return sb.toString();
    }

    private static boolean printable(int cp) {
        return switch (Character.getType(cp)) {
            case Character.CONTROL, Character.FORMAT, Character.SURROGATE, Character.PRIVATE_USE, Character.UNASSIGNED,
                 Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR -> false;
            default -> cp != 0xFFFD; // what malformed UTF-8 decodes to: show it as an escape, not as a glyph
        };
    }

    private static String escape(int cp) {
        return switch (cp) {
            case '\\' -> "\\\\";
            case '\n' -> "\\n";
            case '\r' -> "\\r";
            case '\t' -> "\\t";
            default -> cp < 0x100 ? String.format("\\x%02x", cp)
                    : cp < 0x10000 ? String.format("\\u%04x", cp) : String.format("\\U%06x", cp);
        };
    }
}
