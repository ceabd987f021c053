package dev.tandem.runtime.compiler;

/** One op of one phase on its devices; layer is -1 for the embedding and nLayers for the head. */
public record Placement(int layer, String op, String phase, String device) {}
