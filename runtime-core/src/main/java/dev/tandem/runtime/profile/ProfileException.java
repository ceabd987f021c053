package dev.tandem.runtime.profile;

import dev.tandem.runtime.error.TandemException;

import java.nio.file.Path;

/** A profile file that cannot be used: unreadable, not a profile, or measured on another machine or build. */
public final class ProfileException extends TandemException {
    public ProfileException(Path file, String why) {
        super("profile " + file + ": " + why);
    }
}
