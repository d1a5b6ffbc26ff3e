import Redaction

extension RequestRecord {
    /// The record as the outputs show it: credentials in its text fields
    /// (the target's userinfo and secret query values) masked, byte for
    /// byte. The one place a record's redaction is decided: a field that may
    /// carry a credential is masked here when it is added.
    public func redacted(by redactor: Redactor) -> RequestRecord {
        guard redactor.isEnabled, let target else { return self }
        var copy = self
        copy.target = redactor.redact(target: target)
        return copy
    }
}
