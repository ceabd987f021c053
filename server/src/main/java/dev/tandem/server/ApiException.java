package dev.tandem.server;

/**
 * A request the server refuses, with the HTTP status and the OpenAI-style error it answers with.
 * param names the request field at fault (null when none does).
 */
final class ApiException extends RuntimeException {
    final int status;
    final String type;
    final String param;
    /** Seconds for a Retry-After header; 0 for none. */
    final int retryAfterSeconds;

    ApiException(int status, String type, String param, String message, int retryAfterSeconds) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
        this.param = param;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    /** 400: a field is missing, of the wrong type or outside its range. */
    static ApiException invalid(String param, String message) {
        return new ApiException(400, "invalid_request_error", param, message, 0);
    }
}
