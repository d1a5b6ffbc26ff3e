/// What the probe captures, set before it loads: the BPF side gets these as
/// constants and filter maps, so filtered-out traffic costs almost nothing.
public struct ProbeConfiguration: Sendable {
    /// Payload bytes captured per syscall (the true length is always reported).
    public var payloadCap: Int = 4096
    /// Ring buffer size in bytes (a power of two).
    public var ringBufferBytes: Int = 32 << 20
    /// Trace only these processes (empty: all).
    public var pids: Set<UInt32> = []
    /// Trace only these network namespaces, by inode (empty: all).
    public var netns: Set<UInt32> = []
    /// Trace only these cgroup v2 ids (empty: all).
    public var cgroups: Set<UInt64> = []
    /// Trace only connections with one of these ports at either end (empty: all).
    public var ports: Set<UInt16> = []

    /// Copy the bytes a sendfile() sends off the wire as its payload. Off,
    /// a sendfile's event has only its length (payload unavailable): enough
    /// where file contents are bodies to skip, as for `export`, and the
    /// egress program that copies them is not loaded.
    public var sendfileBytes = true

    /// Read TLS plaintext from OpenSSL (uprobes on libssl in every process
    /// that maps it) and Go's crypto/tls (uprobes on each Go program that
    /// links it) instead of the connections' ciphertext.
    public var tlsPlaintext = true

    /// Capture the packets of traced connections too (`pipetrace capture`):
    /// loads the packet programs, which the other verbs never load.
    public var capturePackets = false
    /// Bytes kept per captured packet, from its IP header.
    public var snapLength: Int = 1514

    /// Tests only: load the probe with this feature's programs made invalid,
    /// to prove that a refused feature leaves the others working. Only
    /// `.multiMessage` has such a switch; PIPETRACE_TEST_REJECT_FEATURE set
    /// to a feature's name (`recvmmsg/sendmmsg`) does the same for the binary.
    public var rejectForTesting: ProbeFeature?

    /// The largest snap length the BPF side supports: one IP packet.
    public static let maximumSnapLength = 65535

    /// The largest payload cap the BPF side supports.
    public static let maximumPayloadCap = 16384

    public init() {}
}
