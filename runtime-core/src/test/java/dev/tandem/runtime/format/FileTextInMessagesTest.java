package dev.tandem.runtime.format;

import dev.tandem.runtime.Model;
import dev.tandem.runtime.error.ModelFormatException;
import dev.tandem.runtime.error.SafeText;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Strings from a crafted file reach error messages quoted, escaped and bounded: never as raw bytes. */
public class FileTextInMessagesTest {
    private static final String TERMINAL_ATTACK = "\u001b[2J\u001b]0;owned\u0007\r\nfake: line";

    @TempDir
    Path dir;

    /** One line of at most 300 characters, each of which prints as itself. */
    public static void assertSafeLine(String message) {
        assertTrue(message.length() <= SafeText.MAX_MESSAGE, message.length() + " characters: " + message);
        message.codePoints().forEach(cp -> {
            int type = Character.getType(cp);
            assertTrue(type != Character.CONTROL && type != Character.FORMAT && type != Character.SURROGATE
                            && type != Character.LINE_SEPARATOR && type != Character.PARAGRAPH_SEPARATOR && cp != 0xFFFD,
                    String.format("U+%04X in %s", cp, message.replaceAll("\\p{Cntrl}", "?")));
        });
    }

    private ModelFormatException openFails(byte[] bytes) {
        Path file = FormatAssertions.write(dir, "crafted.gguf", bytes);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> GgufFile.open(file).close());
        assertSafeLine(e.getMessage());
        assertTrue(e.getMessage().contains("crafted.gguf"), e.getMessage());
        return e;
    }

    @Test
    void controlCharactersInATensorNameAreEscaped() {
        byte[] b = RawGguf.header(3, 2, 0)
                .tensorInfo(TERMINAL_ATTACK, GgmlType.F32.id(), 0, 4)
                .tensorInfo(TERMINAL_ATTACK, GgmlType.F32.id(), 32, 4).bytes();
        ModelFormatException e = openFails(b);
        assertTrue(e.getMessage().contains("duplicate tensor name '\\x1b[2J\\x1b]0;owned\\x07\\r\\nfake: line'"), e.getMessage());
    }

    @Test
    void aHugeKeyIsCutWithAnEllipsis() {
        String huge = "k".repeat(100_000);
        byte[] b = RawGguf.header(3, 0, 2).kvU32(huge, 1).kvU32(huge, 2).bytes();
        ModelFormatException e = openFails(b);
        assertTrue(e.getMessage().contains("duplicate metadata key '" + "k".repeat(SafeText.MAX_QUOTED - 5) + "...'"), e.getMessage());
    }

    @Test
    void invalidUtf8InAKeyIsEscapedNotReplacedSilently() {
        byte[] key = {'b', 'a', 'd', (byte) 0xff, (byte) 0xfe, (byte) 0xc3};
        byte[] b = RawGguf.header(3, 0, 2).rawStr(key).u32(GgufValueType.UINT32.id()).u32(1)
                .rawStr(key).u32(GgufValueType.UINT32.id()).u32(2).bytes();
        ModelFormatException e = openFails(b);
        assertTrue(e.getMessage().contains("'bad\\ufffd\\ufffd\\ufffd'"), e.getMessage());
    }

    @Test
    void aStringValueNamedInAModelErrorIsEscaped() {
        Path file = dir.resolve("arch.gguf");
        new GgufWriter().putString("general.architecture", TERMINAL_ATTACK + "x".repeat(5000)).write(file);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> Model.load(file).close());
        assertSafeLine(e.getMessage());
        assertTrue(e.getMessage().contains("architecture '\\x1b[2J"), e.getMessage());
    }

    @Test
    void aHugeNameAndAHugePathStillMakeOneBoundedLine() {
        Path deep = dir;
        for (int i = 0; i < 8; i++) {
            deep = deep.resolve("d".repeat(30) + i);
        }
        ModelFormatException e = new ModelFormatException(deep.resolve("m\nodel.gguf"), 12,
                "tensor " + SafeText.quote("\u202e" + "n".repeat(400)) + " " + "problem ".repeat(60));
        assertSafeLine(e.getMessage());
        assertTrue(e.getMessage().contains("m\\nodel.gguf at offset 12: tensor '\\u202ennn"), e.getMessage());
        assertTrue(e.getMessage().endsWith("..."), e.getMessage());
    }

    @Test
    void quoteKeepsOrdinaryTextAndEscapesBackslashes() {
        assertEquals("'blk.0.attn_q.weight'", SafeText.quote("blk.0.attn_q.weight"));
        assertEquals("'caf\u00e9 \u65e5\u672c'", SafeText.quote("caf\u00e9 \u65e5\u672c"));
        assertEquals("'a\\\\x41'", SafeText.quote("a\\x41"), "a backslash in the file cannot forge an escape");
        assertEquals("'\\x00\\x7f\\U0f0000'", SafeText.quote("\u0000\u007f" + new String(Character.toChars(0xF0000))));
        String cut = SafeText.quote("\uD83D\uDE00".repeat(100));
        assertTrue(cut.length() <= SafeText.MAX_QUOTED, cut);
        assertTrue(cut.endsWith("...'") && !Character.isHighSurrogate(cut.charAt(cut.length() - 5)), cut);
    }
}
