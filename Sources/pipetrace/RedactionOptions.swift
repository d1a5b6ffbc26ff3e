import ArgumentParser
import Probe
import Redaction

/// Whether credentials are masked in what a verb prints and writes (they are, by default).
struct RedactionOptions: ParsableArguments {
    @Flag(name: .customLong("no-redact"),
          help: "Show credentials as sent: the values of Authorization, Proxy-Authorization, Cookie, Set-Cookie and secret-named headers, URL userinfo, and secret-named query, form and JSON values (by default each of their bytes is shown as *).")
    var noRedact = false

    @Option(name: .customLong("redact-name"),
            help: ArgumentHelp("Also treat names with this word as secrets (repeatable; on top of password, passwd, token, secret, key, api_key, signature, session, …).",
                               valueName: "word"))
    var extraNames: [String] = []

    /// The redactor these options describe; with --no-redact, says on stderr what the output will show.
    func makeRedactor() -> Redactor {
        guard !noRedact else {
            StandardError.write("pipetrace: --no-redact: credentials (Authorization, Cookie, URL userinfo, secret query values, …) are shown as sent\n")
            return .disabled
        }
        return Redactor(names: SecretNames(extra: extraNames))
    }
}
