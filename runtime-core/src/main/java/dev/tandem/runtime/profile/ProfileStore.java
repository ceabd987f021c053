package dev.tandem.runtime.profile;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Where device profiles live, and the one place they are read and written. A profile's file is named
 * by its device and a key of the machine identity, so profiles of other machines (a shared home
 * directory) sit side by side; one whose content names another machine or build is foreign and is
 * never used.
 *
 * <p>The directory: the system property {@value #DIR_PROPERTY}, else the environment variable
 * {@value #DIR_ENV}, else {@code $XDG_CACHE_HOME/tandem/profiles}, else {@code ~/.cache/tandem/profiles}.
 */
public final class ProfileStore {
    public static final String DIR_PROPERTY = "tandem.profiles.dir";
    public static final String DIR_ENV = "TANDEM_PROFILES_DIR";

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    private static volatile ProfileStore shared;

    private final Path dir;
    private final MachineIdentity machine;
    /** Profiles already read (or found missing or unusable), by device. */
    private final Map<String, Optional<DeviceProfile>> loaded = new ConcurrentHashMap<>();
    private final Map<String, Optional<ProfileModel>> models = new ConcurrentHashMap<>();
    /** Why a device's file was not used, when it was there but unusable. */
    private final Map<String, String> problems = new ConcurrentHashMap<>();

    public ProfileStore(Path dir, MachineIdentity machine) {
        this.dir = dir;
        this.machine = machine;
    }

    /** The store of this process: the default directory, this machine. */
    public static ProfileStore shared() {
        ProfileStore s = shared;
        if (s == null) {
            synchronized (ProfileStore.class) {
                if (shared == null) {
                    shared = new ProfileStore(defaultDir(), MachineIdentity.current());
                }
                s = shared;
            }
        }
        return s;
    }

    public static Path defaultDir() {
        String p = System.getProperty(DIR_PROPERTY);
        if (p == null || p.isBlank()) {
            p = System.getenv(DIR_ENV);
        }
        if (p != null && !p.isBlank()) {
            return Path.of(p);
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path cache = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return cache.resolve("tandem").resolve("profiles");
    }

    public Path dir() { return dir; }

    public MachineIdentity machine() { return machine; }

    /** The file a device's profile on this machine lives in. */
    public Path file(String device) {
        String safe = device.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9._=-]+", "_");
        return dir.resolve(safe + "-" + machine.key() + ".json");
    }

    /**
     * The device's profile when there is a usable one; a missing file is empty, and so is an unusable
     * one, whose reason {@link #problem} then gives (a caller warns and recalibrates).
     */
    public Optional<DeviceProfile> find(String device) {
        return loaded.computeIfAbsent(device, d -> {
            try {
                return Optional.of(read(d));
            } catch (NoProfileException e) {
                return Optional.empty();
            } catch (ProfileException e) {
                problems.put(d, e.getMessage());
                return Optional.empty();
            }
        });
    }

    /** Why the device's profile file was ignored, if it was there and unusable. */
    public Optional<String> problem(String device) {
        find(device);
        return Optional.ofNullable(problems.get(device));
    }

    /**
     * Reads and checks the device's profile.
     * @throws NoProfileException when there is no file
     * @throws ProfileException   when the file is unreadable, not a profile, or foreign
     */
    public DeviceProfile read(String device) {
        Path f = file(device);
        String text;
        try {
            text = Files.readString(f);
        } catch (NoSuchFileException e) {
            throw new NoProfileException(f, device);
        } catch (IOException e) {
            throw new ProfileException(f, "cannot read it (" + e.getClass().getSimpleName() + ": " + e.getMessage() + ")");
        }
        DeviceProfile p;
        try {
            p = JSON.readValue(text, DeviceProfile.class);
        } catch (JsonProcessingException e) {
            var at = e.getLocation();
            throw new ProfileException(f, "not a profile" + (at != null ? " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")" : "")
                    + ": " + firstLine(e.getOriginalMessage()));
        }
        check(f, p, device);
        return p;
    }

    private void check(Path f, DeviceProfile p, String device) {
        if (p == null) {
            throw new ProfileException(f, "not a profile: empty JSON");
        }
        if (p.formatVersion() != DeviceProfile.FORMAT_VERSION) {
            throw new ProfileException(f, "format_version " + p.formatVersion() + ", this build reads " + DeviceProfile.FORMAT_VERSION);
        }
        if (!device.equals(p.device())) {
            throw new ProfileException(f, "device is '" + p.device() + "', expected '" + device + "'");
        }
        if (!machine.equals(p.machine())) {
            throw new ProfileException(f, "measured on another machine or build (" + p.machine() + "), this is " + machine);
        }
        if (p.measurements().isEmpty()) {
            throw new ProfileException(f, "measurements: none");
        }
        for (int i = 0; i < p.measurements().size(); i++) {
            Measurement m = p.measurements().get(i);
            if (m == null || m.kind() == null || !(m.seconds() > 0) || !Double.isFinite(m.seconds())) {
                throw new ProfileException(f, "measurements[" + i + "]: needs a kind and seconds > 0, got " + m);
            }
            for (var e : m.shape().entrySet()) {
                if (e.getValue() == null || e.getValue() < 0) {
                    throw new ProfileException(f, "measurements[" + i + "].shape." + e.getKey() + ": must be >= 0, got " + e.getValue());
                }
            }
        }
        if (p.cacheBytes() < 0) {
            throw new ProfileException(f, "cache_bytes must be >= 0, got " + p.cacheBytes());
        }
        try {
            ProfileModel.of(p); // every curve it needs can be built, or this names the missing one
        } catch (IllegalArgumentException e) {
            throw new ProfileException(f, e.getMessage());
        }
    }

    /** The interpolating model of the device's usable profile, built once. */
    public Optional<ProfileModel> model(String device) {
        return models.computeIfAbsent(device, d -> find(d).map(ProfileModel::of));
    }

    /** Writes a profile (atomically: a reader never sees half a file) and makes it the one this store serves. */
    public Path save(DeviceProfile p) {
        Path f = file(p.device());
        try {
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, ".profile", ".tmp");
            Files.writeString(tmp, JSON.writeValueAsString(p));
            Files.move(tmp, f, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new ProfileException(f, "cannot write it (" + e.getClass().getSimpleName() + ": " + e.getMessage() + ")");
        }
        loaded.put(p.device(), Optional.of(p));
        models.remove(p.device());
        problems.remove(p.device());
        return f;
    }

    /** Forgets what was read for a device, so the next look reads its file again (after a file changed underneath). */
    public void forget(String device) {
        loaded.remove(device);
        models.remove(device);
        problems.remove(device);
    }

    /** The profile as its file holds it. */
    public static String toJson(DeviceProfile p) {
        try {
            return JSON.writeValueAsString(p);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "?";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    /** No profile file for a device on this machine. */
    public static final class NoProfileException extends dev.tandem.runtime.error.TandemException {
        NoProfileException(Path f, String device) {
            super("no profile for '" + device + "' on this machine (" + f + "); run 'tandem calibrate --device " + device + "'");
        }
    }
}
