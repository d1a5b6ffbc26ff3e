import Glibc

/// Turns SIGINT and SIGTERM (and any others asked for) into something the
/// main loop asks about: the signals are blocked and collected with
/// sigtimedwait, so there is no handler and no global flag. Create it before
/// any other thread starts, so the blocked mask is inherited.
final class SignalWatcher {
    private var mask = sigset_t()
    private var previous = sigset_t()

    init(_ signals: [Int32] = [SIGINT, SIGTERM]) {
        sigemptyset(&mask)
        for s in signals { sigaddset(&mask, s) }
        pthread_sigmask(SIG_BLOCK, &mask, &previous)
    }

    deinit {
        pthread_sigmask(SIG_SETMASK, &previous, nil)
    }

    /// A signal received since the last call, if any; never waits.
    func received() -> Int32? {
        var info = siginfo_t()
        var zero = timespec()
        let signal = sigtimedwait(&mask, &info, &zero)
        return signal > 0 ? signal : nil
    }
}
