import TestSupport

extension Repository {
    /// The HTTP server and client whose syscalls the probe tests check.
    static let httpPeer = fixture("ProbeTests", "http_peer.py")
}
