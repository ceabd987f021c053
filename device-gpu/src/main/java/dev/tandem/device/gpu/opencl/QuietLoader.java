package dev.tandem.device.gpu.opencl;

import org.lwjgl.system.Configuration;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * Keeps LWJGL's loader chatter ("[LWJGL] Failed to load a library. Possible solutions: ...") off
 * stderr while the backend probes: the probe's {@code Availability} already says why OpenCL is
 * unavailable, and 'tandem devices' prints it. After the probe, LWJGL's debug output goes to stderr as
 * before; with -Dorg.lwjgl.util.Debug or DebugLoader set, nothing is redirected at all.
 *
 * <p>LWJGL reads its debug stream once, when its APIUtil class initialises, so this must be installed
 * before anything else touches LWJGL.
 */
final class QuietLoader extends OutputStream {
    private static final QuietLoader INSTANCE = new QuietLoader();
    private static boolean installed;
    private volatile boolean probing = true;

    private QuietLoader() {}

    static synchronized void install() {
        if (installed || Configuration.DEBUG.get(false) || Configuration.DEBUG_LOADER.get(false)
                || Configuration.DEBUG_STREAM.get() != null) {
            return;
        }
        installed = true;
        Configuration.DEBUG_STREAM.set(new PrintStream(INSTANCE, true, StandardCharsets.UTF_8));
    }

    /** From now on LWJGL's messages reach stderr again. */
    static void probeDone() {
        INSTANCE.probing = false;
    }

    @Override
    public void write(int b) {
        if (!probing) {
            System.err.write(b);
        }
    }

    @Override
    public void write(byte[] b, int off, int len) {
        if (!probing) {
            System.err.write(b, off, len);
        }
    }

    @Override
    public void flush() {
        if (!probing) {
            System.err.flush();
        }
    }
}
