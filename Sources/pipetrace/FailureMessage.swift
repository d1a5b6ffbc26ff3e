/// An error the user can act on, printed as one line ("Error: ...") with
/// exit status 1 and no usage text: the command line was fine, the situation is not.
struct FailureMessage: Error, CustomStringConvertible {
    let text: String
    var description: String { text }
}
