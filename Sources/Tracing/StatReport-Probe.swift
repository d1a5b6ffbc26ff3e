import Probe
import Report

extension StatReport {
    /// What the probe could not see on this host or in this run, for the top of the report.
    public static func warnings(_ probe: Probe) -> [String] {
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
