package dev.tandem.runtime.compiler;

/**
 * One interval of the static timeline. The track is a device stage (devices working in lockstep,
 * e.g. "lp30[8-15]") or a link ("link h100[0-7]->lp30[0-7]"); times are seconds from the request.
 */
public record TimelineEvent(String track, double startS, double endS, String name, String phase, int microBatch) {}
