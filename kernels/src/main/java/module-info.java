/** Numeric kernels for the host CPU (Vector API) with scalar references. No model or device concepts. */
module dev.tandem.kernels {
    requires jdk.incubator.vector;
    exports dev.tandem.kernels;
    // The OpenCL C sources are resources that device modules read at open.
    opens dev.tandem.kernels.opencl;
}
