/// What a SIGHUP's new configuration changes (`ExportSession` acts on it).
extension ExportConfiguration {
    /// The process, container and port filters differ: they are applied in
    /// the kernel at start, so only a restart changes them.
    public func filtersDiffer(from old: ExportConfiguration) -> Bool {
        pids != old.pids || containers != old.containers || ports != old.ports || tlsPlaintext != old.tlsPlaintext
    }

    /// The /metrics server or a sink must be made anew: an address, a URL or
    /// how batches are queued, retried, spooled or encoded changed. TLS files
    /// count as changed whenever any is set: they are read again at every
    /// SIGHUP, as certificates are rotated in place.
    public func outputsDiffer(from old: ExportConfiguration) -> Bool {
        listen != old.listen || remoteWrite != old.remoteWrite || otlp != old.otlp
            || !otlp.isEmpty && slowMilliseconds != old.slowMilliseconds || spoolDirectory != old.spoolDirectory
            || spoolMaxBytes != old.spoolMaxBytes || spoolMaxBatches != old.spoolMaxBatches
            || queueBatches != old.queueBatches || retryInitial != old.retryInitial
            || retryMax != old.retryMax || requestTimeout != old.requestTimeout
            || maxSamplesPerBatch != old.maxSamplesPerBatch
            || otlpCompression != old.otlpCompression || otlpFlows != old.otlpFlows || tls != old.tls || tls != TLSSettings()
    }
}
