/** JMH benchmarks: ceilings (memory bandwidth, FMA peak) and the kernels and decode measured against them. */
package dev.tandem.bench;
