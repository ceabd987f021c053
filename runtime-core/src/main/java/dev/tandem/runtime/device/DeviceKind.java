package dev.tandem.runtime.device;

public enum DeviceKind { CPU, GPU, LPU }
