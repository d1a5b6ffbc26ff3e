import Redaction

extension RequestRecord {
    /// The record as the outputs show it: credentials in its text fields
    /// (the target's userinfo and secret query values, attributes whose
    /// names look like secrets, credentials inside attribute values) masked,
    /// byte for byte. The one place a record's redaction is decided: a field
    /// that may carry a credential is masked here when it is added.
    public consuming func redacted(by redactor: Redactor) -> RequestRecord {
        guard redactor.isEnabled, target != nil || attributeStorage != nil else { return self }
        var copy = self
        if let target = copy.target { copy.target = redactor.redact(target: target) }
        if let attributes = copy.attributeStorage {
            for (name, value) in attributes {
                var masked = redactor.redact(header: name, value: value)
                // Free text (a gRPC status message) may hold a URL or query with credentials: each word that looks like one.
                if masked.contains("://") || masked.contains("=") {
                    masked = masked.split(separator: " ", omittingEmptySubsequences: false)
                        .map { $0.contains("://") || $0.contains("=") ? redactor.redact(target: String($0)) : String($0) }
                        .joined(separator: " ")
                }
                if masked != value { copy.attributes[name] = masked }
            }
        }
        return copy
    }
}
