package dev.tandem.runtime.tokenizer;

/** Strict UTF-8 structure checks (no overlongs, no surrogates, nothing above U+10FFFF). */
final class Utf8 {
    private Utf8() {}

    /**
     * Length of the well-formed UTF-8 sequence that starts at {@code bytes[i]} and ends before
     * {@code end}, or 0 when the bytes there are not one.
     */
    static int validSequenceLength(byte[] bytes, int i, int end) {
        int lead = bytes[i] & 0xFF;
        if (lead < 0x80) {
            return 1;
        }
        int length = sequenceLength(lead);
        if (length == 0 || i + length > end) {
            return 0;
        }
        if (!secondByteAllowed(lead, bytes[i + 1] & 0xFF)) {
            return 0;
        }
        for (int k = 2; k < length; k++) {
            if (!isContinuation(bytes[i + k])) {
                return 0;
            }
        }
        return length;
    }

    /**
     * How many trailing bytes of {@code bytes[0..length)} are the start of a multi-byte
     * character whose remaining bytes have not arrived yet; 0 when the tail is complete or
     * already malformed. Streaming output holds these back instead of printing U+FFFD.
     */
    static int incompleteTailLength(byte[] bytes, int length) {
        for (int k = 1; k <= Math.min(3, length); k++) {
            int b = bytes[length - k] & 0xFF;
            if (isContinuation((byte) b)) {
                continue;
            }
            int needed = sequenceLength(b);
            if (needed <= k) {
                return 0;
            }
            if (k >= 2 && !secondByteAllowed(b, bytes[length - k + 1] & 0xFF)) {
                return 0;
            }
            return k;
        }
        return 0;
    }

    /** Total length of the sequence a lead byte starts, or 0 for bytes that cannot lead one. */
    private static int sequenceLength(int lead) {
        if (lead < 0x80) return 1;
        if (lead >= 0xC2 && lead <= 0xDF) return 2;
        if (lead >= 0xE0 && lead <= 0xEF) return 3;
        if (lead >= 0xF0 && lead <= 0xF4) return 4;
        return 0;
    }

    /** The second byte's range depends on the lead: that is what rules out overlongs, surrogates and > U+10FFFF. */
    private static boolean secondByteAllowed(int lead, int second) {
        return switch (lead) {
            case 0xE0 -> second >= 0xA0 && second <= 0xBF;
            case 0xED -> second >= 0x80 && second <= 0x9F;
            case 0xF0 -> second >= 0x90 && second <= 0xBF;
            case 0xF4 -> second >= 0x80 && second <= 0x8F;
            default -> second >= 0x80 && second <= 0xBF;
        };
    }

    static boolean isContinuation(byte b) {
        return (b & 0xC0) == 0x80;
    }
}
