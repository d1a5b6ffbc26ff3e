import Analyzer

extension StatReport {
    /// The HTML report of the window (`--html`); empty if the timeline was not kept.
    public func html(title: String, warnings: [String]) -> [UInt8] {
        guard let timeline else { return [] }
        var warnings = warnings
        if incomplete > 0 {
            warnings.append("\(incomplete) exchanges were cut short (by a close, a parse error or the end of the window): counted, not timed.")
        }
        let header = ReportHeader(title: title, windowSeconds: window, lostEvents: lostEvents, resets: resets, warnings: warnings)
        return HTMLReport.render(header, timeline, hops: hops)
    }
}
