package dev.tandem.runtime.device;

/** The answer of {@link DeviceBackend#probe()}: usable, or the reason it is not. */
public record Availability(boolean available, String reason) {
    public static Availability yes(String detail) { return new Availability(true, detail); }

    public static Availability no(String reason) { return new Availability(false, reason); }
}
