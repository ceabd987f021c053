/** Numeric kernels for the host CPU (Vector API) with scalar references. No model or device concepts. */
module dev.tandem.kernels {
    requires jdk.incubator.vector;
    exports dev.tandem.kernels;
}
