/// The `tls` keys of the export configuration: what `TLSContext` trusts and presents.
public struct TLSSettings: Sendable, Hashable {
    /// PEM file of the certificate authorities to trust instead of the system's.
    public var caFile: String?
    /// PEM client certificate (chain), presented when the server asks.
    public var certFile: String?
    /// PEM private key of `certFile`.
    public var keyFile: String?

    public init(caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil) {
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
    }
}
