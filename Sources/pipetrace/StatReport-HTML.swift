import Analyzer
import Probe
import Report

extension StatReport {
    /// The HTML report of the window (`--html`); empty if the timeline was not kept.
    func html(title: String, warnings: [String]) -> [UInt8] {
        guard let timeline else { return [] }
        var warnings = warnings
        if incomplete > 0 {
            warnings.append("\(incomplete) exchanges were cut short (by a close, a parse error or the end of the window): counted, not timed.")
        }
        let header = ReportHeader(title: title, windowSeconds: window, lostEvents: lostEvents, resets: resets, warnings: warnings)
        return HTMLReport.render(header, timeline, hops: hops)
    }

    /// What the probe could not see on this host or in this run, for the top of the report.
    static func warnings(_ probe: Probe) -> [String] {
        var warnings = probe.degradedFeatures.map { feature, reason in
            "Running without \(feature.rawValue) (\(feature.summary)): " + (reason.split(separator: "\n").first.map(String.init) ?? reason)
        }
        if probe.cgroupRoot == nil {
            warnings.append("No cgroup v2 on this host: sendfile payloads and container ids are missing, so hops may show \"?\".")
        }
        let statistics = probe.statistics
        if statistics.connectionTableFull > 0 {
            warnings.append("\(statistics.connectionTableFull) sockets were not tracked (the connection table was full).")
        }
        if statistics.malformedEvents > 0 {
            warnings.append("\(statistics.malformedEvents) probe events did not decode and were skipped.")
        }
        return warnings
    }
}
