package dev.tandem.device.gpu.opencl;

/** The kernel source did not compile for a device; {@link #buildLog()} is the compiler's own output. */
public class OpenClBuildException extends OpenClException {
    private final String buildLog;

    OpenClBuildException(String call, int code, String deviceName, String buildLog) {
        super(call, code, call + " failed for " + deviceName + ": " + errorName(code) + " (" + code + ")\n"
                + "build log:\n" + buildLog);
        this.buildLog = buildLog;
    }

    public String buildLog() { return buildLog; }
}
