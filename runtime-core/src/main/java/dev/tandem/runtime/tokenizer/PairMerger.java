package dev.tandem.runtime.tokenizer;

import java.util.Comparator;
import java.util.PriorityQueue;

/**
 * Greedy adjacent-pair merging, shared by both BPE flavours: repeatedly merge the adjacent pair
 * with the highest priority, the leftmost one on ties, until no pair can merge.
 *
 * <p>A doubly linked list over the initial symbols plus a priority queue of candidate pairs make
 * this O(n log n) rather than rescanning all pairs after each merge. Queue entries are never
 * removed; an entry whose two symbols are no longer neighbours with the recorded tokens is stale
 * and skipped. That is exact: a symbol's token only changes by absorbing its right neighbour,
 * which makes it a different, longer token.
 */
final class PairMerger {

    /** What merging two adjacent tokens gives. */
    record Merge(int token, double priority) {}

    /** The merge rules of one vocabulary. */
    interface Rule {
        /** The merge of {@code left} followed by {@code right}, or null when they do not merge. */
        Merge merge(int left, int right);
    }

    private record Candidate(int left, int right, int leftToken, int rightToken, Merge merge) {}

    // Highest priority first; on ties the leftmost pair, as llama2.c's left-to-right scan with '>' picks.
    private static final Comparator<Candidate> ORDER =
            Comparator.<Candidate>comparingDouble(c -> -c.merge.priority()).thenComparingInt(Candidate::left);

    private PairMerger() {}

    static int[] merge(int[] symbols, Rule rule) {
        int n = symbols.length;
        if (n < 2) {
            return symbols.clone();
        }
        int[] token = symbols.clone();
        int[] prev = new int[n];
        int[] next = new int[n];
        boolean[] removed = new boolean[n];
        for (int i = 0; i < n; i++) {
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        PriorityQueue<Candidate> queue = new PriorityQueue<>(ORDER);
        for (int i = 0; i + 1 < n; i++) {
            offer(queue, rule, token, i, i + 1);
        }
        int remaining = n;
        while (!queue.isEmpty()) {
            Candidate c = queue.poll();
            if (removed[c.left] || removed[c.right] || next[c.left] != c.right
                    || token[c.left] != c.leftToken || token[c.right] != c.rightToken) {
                continue;
            }
            token[c.left] = c.merge.token();
            removed[c.right] = true;
            remaining--;
            next[c.left] = next[c.right];
            if (next[c.left] >= 0) {
                prev[next[c.left]] = c.left;
                offer(queue, rule, token, c.left, next[c.left]);
            }
            if (prev[c.left] >= 0) {
                offer(queue, rule, token, prev[c.left], c.left);
            }
        }
        int[] result = new int[remaining];
        int k = 0;
        for (int i = 0; i >= 0; i = next[i]) { // symbol 0 is never a right-hand side, so never removed
            result[k++] = token[i];
        }
        return result;
    }

    private static void offer(PriorityQueue<Candidate> queue, Rule rule, int[] token, int left, int right) {
        Merge m = rule.merge(token[left], token[right]);
        if (m != null) {
            queue.add(new Candidate(left, right, token[left], token[right], m));
        }
    }
}
