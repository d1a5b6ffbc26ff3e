import ArgumentParser
import Capture
import Events
import Glibc
import Probe
import Tracing

struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Print every socket read/write, connection, TCP state change, retransmit and reset, live.",
        discussion: """
        One line per event, or one JSON object per line with --json. A data event's `payload` is \
        the text of the bytes moved, non-printable bytes escaped (\\r, \\n, \\xNN), so grep works \
        on it; `len` is the true byte count and `truncated` says when the capture cap cut it.
        Credentials in payloads (Authorization, Cookie, URL userinfo, secret query values, …) are \
        shown as * of the same length unless --no-redact.
        Ctrl-C stops; the number of events lost (ring buffer full) is reported on stderr.

        Examples:
          sudo pipetrace events --time 5
          sudo pipetrace events --json --container collector | grep 'GET /metrics'
        """
    )

    @OptionGroup var output: LiveOutputOptions

    @OptionGroup var filters: FilterOptions

    @OptionGroup var redaction: RedactionOptions

    func run() throws {
        let signals = SignalWatcher()
        let probe = try filters.makeProbe()
        StandardError.write("pipetrace: tracing (\(probe.programs.count) BPF programs attached); Ctrl-C to stop\n")
        let out = OutputStream()
        let formatter = EventFormatter(wallClock: probe.wallClock, redactor: redaction.makeRedactor())
        // One writer for every line: no allocation per event.
        var line = JSONWriter(capacity: 1 << 13)
        let print: (ProbeEvent) -> Void = output.json ? { event in
            formatter.writeJSON(event, into: &line)
            out.write(line.bytes)
            line.removeAll()
        } : { out.write(formatter.text($0)) }
        try probe.trace(seconds: output.seconds, stop: { signals.received() != nil }, polled: { out.flush(); return true }, print)
        out.flush()
        let stats = probe.statistics
        StandardError.write(RunSummary(stats).line)
    }
}

/// The last line of a tracing verb, on stderr: how complete the capture was.
struct RunSummary {
    let line: String

    init(_ s: ProbeStatistics) {
        var text = "pipetrace: \(s.events) events, \(s.lostEvents) lost (ring buffer full)"
        if s.malformedEvents > 0 { text += ", \(s.malformedEvents) malformed" }
        if s.connectionTableFull > 0 { text += ", \(s.connectionTableFull) sockets untracked (connection table full)" }
        line = text + "\n"
    }
}

