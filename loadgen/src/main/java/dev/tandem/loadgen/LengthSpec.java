package dev.tandem.loadgen;

import dev.tandem.runtime.error.TandemException;

import java.util.SplittableRandom;

/** A token count: fixed ("128") or drawn uniformly from an inclusive range ("64:256"). */
public record LengthSpec(int min, int max) {
    public LengthSpec {
        if (min < 1 || max < min) {
            throw new IllegalArgumentException("need 1 <= min <= max, got " + min + ":" + max);
        }
    }

    /** Parses "N" or "MIN:MAX"; a bad value is a one-line error naming the flag. */
    public static LengthSpec parse(String text, String flag) {
        String[] parts = text.trim().split(":", -1);
        try {
            int lo = Integer.parseInt(parts[0].trim());
            int hi = parts.length == 1 ? lo : Integer.parseInt(parts[1].trim());
            if (parts.length > 2 || lo < 1 || hi < lo) {
                throw new NumberFormatException();
            }
            return new LengthSpec(lo, hi);
        } catch (NumberFormatException e) {
            throw new TandemException(flag + " '" + text + "': expected N or MIN:MAX with 1 <= MIN <= MAX");
        }
    }

    public int draw(SplittableRandom random) {
        return min == max ? min : random.nextInt(min, max + 1);
    }

    /** The mean length, rounded: what the compiler's prediction assumes per sequence. */
    public int mean() { return (int) Math.round((min + (double) max) / 2); }

    @Override
    public String toString() { return min == max ? Integer.toString(min) : min + ":" + max; }
}
