package dev.tandem.runtime.compiler;

/** The two phases of serving: the prompt at once (compute-bound), then one token per step (bandwidth-bound). */
public enum Phase { PREFILL, DECODE }
