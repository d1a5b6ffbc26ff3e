/// `Content-Encoding` of the OTLP bodies sent (`otlp_compression`, `--otlp-compression`).
public enum OTLPCompression: String, Sendable, Hashable, CaseIterable {
    case gzip, none
}
