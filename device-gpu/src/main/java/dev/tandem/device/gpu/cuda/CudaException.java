package dev.tandem.device.gpu.cuda;

import dev.tandem.runtime.error.TandemException;
import jcuda.driver.CUresult;

/**
 * A CUDA driver call returned an error; the message names the call and the CUresult
 * (CUDA_ERROR_OUT_OF_MEMORY...). Every cu* return value goes through {@link #check}: JCuda's own
 * exceptions (JCudaDriver.setExceptionsEnabled) would carry the code's name but not the call.
 */
public class CudaException extends TandemException {
    private final int code;
    private final String call;

    public CudaException(String call, int code) {
        super(call + " failed: " + errorName(code) + " (" + code + ")");
        this.call = call;
        this.code = code;
    }

    /** The raw CUresult. */
    public int code() { return code; }

    /** The symbolic name of {@link #code()}, e.g. CUDA_ERROR_INVALID_VALUE. */
    public String errorName() { return errorName(code); }

    /** The driver entry point that failed. */
    public String call() { return call; }

    /** Throws when code is not CUDA_SUCCESS. */
    static void check(int code, String call) {
        if (code != CUresult.CUDA_SUCCESS) throw new CudaException(call, code);
    }

    /** The CUresult's name (JCuda's table, which reads no native code), e.g. CUDA_ERROR_NO_DEVICE. */
    public static String errorName(int code) {
        return CUresult.stringFor(code);
    }
}
