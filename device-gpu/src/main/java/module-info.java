/** GPU device backends behind the runtime's device SPI: CUDA through JCuda, OpenCL through LWJGL. Exports nothing. */
module dev.tandem.device.gpu {
    requires dev.tandem.runtime;
    requires dev.tandem.kernels;
    requires org.lwjgl;
    requires org.lwjgl.opencl;
    // LWJGL extracts liblwjgl.so from this module; on the module path it must be in the graph.
    requires org.lwjgl.natives;
    // JCuda 12.6 has no module descriptor: automatic modules jcuda and (natives only) jcuda.natives.
    requires jcuda;
    requires jcuda.natives;

    provides dev.tandem.runtime.device.DeviceBackend with
            dev.tandem.device.gpu.cuda.CudaBackend,
            dev.tandem.device.gpu.opencl.OpenClBackend;
}
