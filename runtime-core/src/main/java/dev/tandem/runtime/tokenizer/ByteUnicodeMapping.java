package dev.tandem.runtime.tokenizer;

/**
 * GPT-2's reversible byte ↔ character mapping. Byte-level BPE vocabularies are written as text,
 * so every byte is shown as a printable character: the 188 bytes that print as Latin-1 characters
 * ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves, and the other 68 (controls, space, DEL,
 * NBSP, soft hyphen) become U+0100, U+0101, ... in byte order. So ' ' is 'Ġ' and '\n' is 'Ċ'.
 */
final class ByteUnicodeMapping {
    private static final char[] CHAR_OF_BYTE = new char[256];
    private static final int[] BYTE_OF_CHAR = new int[512];

    static {
        java.util.Arrays.fill(BYTE_OF_CHAR, -1);
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = printable ? (char) b : (char) next++;
            CHAR_OF_BYTE[b] = c;
            BYTE_OF_CHAR[c] = b;
        }
    }

    private ByteUnicodeMapping() {}

    static char charOf(int b) {
        return CHAR_OF_BYTE[b & 0xFF];
    }

    /** The byte a vocabulary character stands for, or -1 when the character is not part of the mapping. */
    static int byteOf(int codePoint) {
        return codePoint >= 0 && codePoint < BYTE_OF_CHAR.length ? BYTE_OF_CHAR[codePoint] : -1;
    }

    /** The vocabulary spelling of {@code bytes}. */
    static String encode(byte[] bytes, int start, int end) {
        char[] chars = new char[end - start];
        for (int i = start; i < end; i++) {
            chars[i - start] = charOf(bytes[i]);
        }
        return new String(chars);
    }
}
