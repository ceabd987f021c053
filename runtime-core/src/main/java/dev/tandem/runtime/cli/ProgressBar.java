package dev.tandem.runtime.cli;

import dev.tandem.runtime.profile.Calibrator;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * A calibration's progress on stderr: a bar redrawn in place when the terminal shows it, else one
 * line when it starts, one at every tenth and one when it ends (a log or CI gets no carriage returns).
 */
final class ProgressBar implements Calibrator.Progress {
    private static final int WIDTH = 30;
    private final PrintWriter err;
    private final boolean terminal;
    private final String title;
    private final long t0 = System.nanoTime();
    private int shown = -1;

    ProgressBar(PrintWriter err, String title, int total) {
        this(err, title, total, interactive());
    }

    ProgressBar(PrintWriter err, String title, int total, boolean terminal) {
        this.err = err;
        this.terminal = terminal;
        this.title = title;
        if (!terminal) {
            err.printf(Locale.ROOT, "%s: timing %d op shapes...%n", title, total);
            err.flush();
        }
    }

    /** Whether a person watches: a console that is a terminal (stderr is taken to go where stdout does). */
    static boolean interactive() {
        java.io.Console c = System.console();
        return c != null && c.isTerminal();
    }

    @Override
    public void step(int done, int total, String what) {
        if (!terminal) {
            // A log gets a line at every tenth, naming the point: where a slow device spends its time.
            int tenth = total == 0 ? 10 : done * 10 / total;
            if (tenth != shown) {
                shown = tenth;
                err.printf(Locale.ROOT, "%s: %d/%d, %s (%.0f s)%n", title, done, total, what, (System.nanoTime() - t0) / 1e9);
                err.flush();
            }
            return;
        }
        int filled = total == 0 ? WIDTH : done * WIDTH / total;
        if (filled == shown && done != total) {
            return;
        }
        shown = filled;
        err.printf(Locale.ROOT, "\r%s [%s%s] %d/%d", title, "#".repeat(filled), " ".repeat(WIDTH - filled), done, total);
        err.flush();
    }

    /** Ends the bar with how long it took. */
    void done() {
        double s = (System.nanoTime() - t0) / 1e9;
        if (terminal) {
            err.printf(Locale.ROOT, "  %.1f s%n", s);
        } else {
            err.printf(Locale.ROOT, "%s: done in %.1f s%n", title, s);
        }
        err.flush();
    }
}
