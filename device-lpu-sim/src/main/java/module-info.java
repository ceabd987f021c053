/** The LPU emulator: a statically scheduled SRAM-dataflow chip, exact in numbers and in cycles. */
module dev.tandem.device.lpu {
    requires transitive dev.tandem.runtime;
    requires dev.tandem.kernels;
    requires com.fasterxml.jackson.databind;

    exports dev.tandem.device.lpu;

    provides dev.tandem.runtime.device.DeviceBackend with dev.tandem.device.lpu.LpuBackend;
    provides dev.tandem.runtime.compiler.OpCostProvider with dev.tandem.device.lpu.LpuOpCostProvider;
}
