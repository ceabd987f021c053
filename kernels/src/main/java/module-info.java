/** Numeric kernels for the host CPU (Vector API) with scalar references. No model or device concepts. */
module dev.tandem.kernels {
    requires jdk.incubator.vector;
    exports dev.tandem.kernels;
    // The OpenCL C sources are resources that device modules read at open.
    opens dev.tandem.kernels.opencl;
    // The CUDA kernels' PTX (compiled from src/main/cuda by tools/cuda-ptx), read the same way.
    opens dev.tandem.kernels.cuda;
}
