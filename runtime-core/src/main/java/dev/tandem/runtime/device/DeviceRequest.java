package dev.tandem.runtime.device;

import java.util.Locale;

/**
 * A device name with its options, as written {@code NAME[:KEY=VALUE,...]}: {@code lpu:preset=lp30,chips=4}.
 *
 * @param name    the backend's name, lower case
 * @param options what follows the colon
 */
public record DeviceRequest(String name, DeviceOptions options) {
    /** @throws DeviceOptionException for a malformed option */
    public static DeviceRequest parse(String text) {
        int colon = text.indexOf(':');
        String name = (colon < 0 ? text : text.substring(0, colon)).trim().toLowerCase(Locale.ROOT);
        return new DeviceRequest(name, colon < 0 ? DeviceOptions.none() : DeviceOptions.parse(text.substring(colon + 1)));
    }

    @Override
    public String toString() { return options.isEmpty() ? name : name + ":" + options; }
}
