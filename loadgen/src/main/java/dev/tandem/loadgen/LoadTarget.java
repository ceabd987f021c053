package dev.tandem.loadgen;

/** What bench-serve sends requests to: an in-process engine or a server over HTTP. */
interface LoadTarget extends AutoCloseable {
    /**
     * Runs one greedy request for exactly maxTokens tokens (EOS does not stop it) and waits for it;
     * safe to call from many threads at once.
     * @throws Exception when the request fails (it is counted as failed, the sweep goes on)
     */
    RequestTiming run(int[] promptIds, int maxTokens) throws Exception;

    /** Says what the requests go to, e.g. "engine on cpu" or the URL. */
    String describe();

    @Override
    void close();
}
