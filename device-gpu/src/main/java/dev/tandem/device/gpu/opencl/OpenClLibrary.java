package dev.tandem.device.gpu.opencl;

import dev.tandem.device.gpu.shared.NativeSignals;
import org.lwjgl.opencl.CL;
import org.lwjgl.system.Configuration;
import org.lwjgl.system.Platform;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;

/**
 * Loads the system OpenCL ICD loader through LWJGL, once per JVM.
 *
 * LWJGL looks for the unversioned libOpenCL.so on Linux, which only the -dev package installs
 * (Debian: ocl-icd-opencl-dev). The runtime package ships libOpenCL.so.1, so when the unversioned
 * name does not load but the versioned one does, we point LWJGL at it (unless the user already
 * chose a name with -Dorg.lwjgl.opencl.libname).
 */
final class OpenClLibrary {
    private static final String UNVERSIONED = "libOpenCL.so";
    private static final String VERSIONED = "libOpenCL.so.1";

    private static boolean loaded;
    /** Why loading failed, kept because LWJGL's classes stay broken after a failed static init. */
    private static String failure;

    private OpenClLibrary() {}

    /** @throws UnsatisfiedLinkError when no OpenCL library (or LWJGL's own native) can be loaded */
    static synchronized void load() {
        if (loaded) return;
        if (failure != null) throw new UnsatisfiedLinkError(failure);
        try {
            loadOnce();
        } catch (UnsatisfiedLinkError e) {
            failure = e.getMessage();
            throw e;
        }
    }

    private static void loadOnce() {
        QuietLoader.install();
        try {
            // Loading the ICD loader may load the drivers, and PoCL's LLVM then takes the JVM's signal handlers.
            NativeSignals.preserving(OpenClLibrary::chooseLibraryAndCreate);
        } finally {
            QuietLoader.probeDone();
        }
        loaded = true;
    }

    private static void chooseLibraryAndCreate() {
        // Through Configuration, not System.setProperty: LWJGL reads its properties once, when
        // Configuration initialises, which may already have happened.
        if (Platform.get() == Platform.LINUX && Configuration.OPENCL_LIBRARY_NAME.get() == null && !loadable(UNVERSIONED)) {
            if (!loadable(VERSIONED)) {
                // A machine without OpenCL is normal: say so ourselves instead of letting LWJGL search and complain.
                throw new UnsatisfiedLinkError("neither " + UNVERSIONED + " nor " + VERSIONED + " can be loaded");
            }
            Configuration.OPENCL_LIBRARY_NAME.set(VERSIONED);
        }
        // Explicit init: a missing library then surfaces here as UnsatisfiedLinkError instead of
        // an ExceptionInInitializerError from CL's static initialiser (and NoClassDefFoundError after).
        Configuration.OPENCL_EXPLICIT_INIT.set(true);
        try {
            CL.getFunctionProvider();
        } catch (IllegalStateException notCreatedYet) {
            CL.create();
        }
    }

    /** Whether the dynamic linker can open name (dlopen, then dlclose when the arena closes). */
    private static boolean loadable(String name) {
        try (Arena arena = Arena.ofConfined()) {
            SymbolLookup.libraryLookup(name, arena);
            return true;
        } catch (IllegalArgumentException notFound) {
            return false;
        }
    }
}
