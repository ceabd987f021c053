package dev.tandem.runtime.compiler;

/**
 * The granularity the compiler places: one attention block and one FFN block per layer, plus the
 * embedding lookup and the output head. AFD splits exactly at the attention/FFN boundary.
 */
public enum OpKind { EMBED, ATTENTION, FFN, HEAD }
