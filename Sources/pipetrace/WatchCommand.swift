import Analyzer
import ArgumentParser
import Capture
import Events
import Probe
import Report
import Tracing

struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Print requests as they complete, one line (or JSON object) each.",
        discussion: """
        Each line: start time, hop (client container → server container), method, target, status, \
        duration, server and network time where both ends are traced, bytes each way, retransmits, \
        the id of the request it was made to serve (parent), and for a Kafka Produce or Fetch the \
        batches it links, produced → fetched, with their time in the broker. With --json, one \
        RequestRecord object per line (the fields `stat --json` uses). Ctrl-C stops.

        Examples:
          sudo pipetrace watch --latency 20
          sudo pipetrace watch --json --container lb | jq 'select(.retransmits > 0)'
        """
    )

    @Option(name: .customLong("latency"), help: ArgumentHelp("Show only requests that took at least this many milliseconds.",
                                                             valueName: "ms"))
    var latency: Double = 0

    @OptionGroup var output: LiveOutputOptions

    @OptionGroup var filters: FilterOptions

    @OptionGroup var redaction: RedactionOptions

    func run() throws {
        let signals = SignalWatcher()
        let probe = try filters.makeProbe(sendfileBytes: false)
        StandardError.write("pipetrace: watching requests\(latency > 0 ? " of \(latency) ms or more" : ""); Ctrl-C to stop\n")
        let out = OutputStream()
        let threshold = UInt64(max(0, latency) * 1e6)
        let tracer = RequestTracer(source: probe, redactor: redaction.makeRedactor())
        var seen: UInt64 = 0, shown: UInt64 = 0
        var brokers = BrokerChainMatcher()
        var line = JSONWriter()
        // Lines appear as requests complete (flushed after each batch of events), not per 64 KiB.
        try tracer.run(seconds: output.seconds, stop: signals.received, polled: out.flush) { record in
            seen += 1
            let chains = brokers.add(record)
            guard record.duration >= threshold else { return }
            shown += 1
            if output.json {
                record.writeJSON(into: &line)
                line.newline()
                out.write(line.bytes)
                line.removeAll()
            } else {
                out.write(RecordFormatter.line(record, chains: chains))
            }
        }
        out.flush()
        StandardError.write("pipetrace: \(seen) requests, \(shown) shown\n")
        StandardError.write(RunSummary(probe.statistics).line)
    }
}
