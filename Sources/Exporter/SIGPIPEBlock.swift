import Glibc

/// SIGPIPE blocked on the calling thread while OpenSSL writes to a socket:
/// it writes with write(2), not send(2) with MSG_NOSIGNAL as `Socket` does,
/// so a receiver that hangs up mid-request would otherwise kill pipetrace
/// (SIGPIPE's default action) instead of failing that one attempt with
/// EPIPE. A SIGPIPE raised meanwhile is taken off the thread before the
/// old mask comes back, so it is never delivered late. (libcurl does the same.)
enum SIGPIPEBlock {
    static func during<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGPIPE)
        var old = sigset_t()
        pthread_sigmask(SIG_BLOCK, &set, &old)
        defer {
            var pending = sigset_t()
            sigpending(&pending)
            if sigismember(&pending, SIGPIPE) == 1 && sigismember(&old, SIGPIPE) == 0 {
                var now = timespec()
                sigtimedwait(&set, nil, &now)
            }
            pthread_sigmask(SIG_SETMASK, &old, nil)
        }
        return try body()
    }
}
