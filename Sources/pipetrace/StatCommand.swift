import Analyzer
import ArgumentParser
import Capture
import Probe
import Redaction
import Report
import Tracing

struct StatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stat",
        abstract: "Collect requests for a while, then show latency per group and the slowest requests hop by hop.",
        discussion: """
        Traces every HTTP/1.x exchange on the host (or those the filters keep) for --time seconds, \
        then prints per group: count, mean, p50, p90, p99 and max latency in milliseconds (three \
        significant digits), and the group's slowest requests (--slow, the default) or biggest \
        responses (--bigresp), each with its hop chain: the request it was made to serve and the \
        requests it made, with each hop's duration, self time (not waiting on its children), \
        network time and server time ("-" where an end was not traced). Ctrl-C ends the window \
        early and still prints.

        Examples:
          sudo pipetrace stat --slow --time 10
          sudo pipetrace stat --group-by target --container lb --top 3
          sudo pipetrace stat --json --time 5 | jq '.groups[] | {key, p99_ms}'
          sudo pipetrace stat --time 30 --html window.html
        """
    )

    enum Ranking: String, EnumerableFlag {
        case slow, bigresp

        static func help(for value: Ranking) -> ArgumentHelp? {
            value == .slow ? "Show each group's slowest requests (the default)." : "Show each group's biggest responses."
        }
    }

    @Flag var ranking: Ranking = .slow

    @Option(name: .customLong("time"), help: ArgumentHelp("Seconds to collect for.", valueName: "seconds"))
    var seconds: Double = 10

    @Option(name: .customLong("group-by"), help: ArgumentHelp("Group by remote (address), target (method and path), hop, container, protocol or consumer (Kafka group or client id).",
                                                              valueName: "dimension"))
    var grouping: RequestStatistics.Grouping = .hop

    @Option(name: .customLong("top"), help: ArgumentHelp("Requests shown per group.", valueName: "N"))
    var top: Int = 3

    @Flag(name: .customLong("json"), help: "Print one JSON object: {\"window_s\", \"lost_events\", \"connections_evicted\", \"groups\": [...]}.")
    var json = false

    @Option(name: .customLong("html"), help: ArgumentHelp("Also write the window as one self-contained HTML report: latency heatmaps per group, the slowest requests as waterfalls, retransmits per container pair.",
                                                          valueName: "file"))
    var htmlFile: String?

    @Option(name: .customLong("max-connections"),
            help: ArgumentHelp("Connections followed at once; beyond it the least recently active are closed early and counted as evicted (bounds memory under a flood).", valueName: "N"))
    var maxConnections: Int = AnalyzerConfiguration().maxConnections

    @OptionGroup var filters: FilterOptions

    @OptionGroup var redaction: RedactionOptions

    func validate() throws {
        guard seconds > 0 else { throw ValidationError("--time must be more than 0 seconds") }
        guard top >= 0 else { throw ValidationError("--top must be 0 or more") }
    }

    func run() throws {
        let signals = SignalWatcher()
        let probe = try filters.makeProbe(sendfileBytes: false)
        let htmlOut = try htmlFile.map(CaptureCommand.create)
        let stderrIsTerminal = OutputStream(fd: 2).isTerminal
        if !stderrIsTerminal { StandardError.write("pipetrace: collecting for \(seconds) s; Ctrl-C to stop early\n") }
        let report = try StatCommand.collect(probe: probe, seconds: seconds, signals: signals, countdown: stderrIsTerminal,
                                             grouping: grouping, ranking: ranking, top: top,
                                             redactor: redaction.makeRedactor(), html: htmlOut != nil,
                                             maxConnections: maxConnections)
        htmlOut?.write(report.html(title: "pipetrace stat", warnings: StatReport.warnings(probe)))
        htmlOut?.flush()
        let out = OutputStream()
        if json { out.write(report.json()) } else { out.write(report.text()) }
        out.flush()
        StandardError.write(RunSummary(probe.statistics).line)
    }

    /// Traces for `seconds` and summarizes: what `stat` and `demo` print.
    static func collect(probe: Probe, seconds: Double, signals: SignalWatcher, countdown: Bool,
                        grouping: RequestStatistics.Grouping, ranking: Ranking, top: Int,
                        redactor: Redactor, html: Bool = false,
                        maxConnections: Int = AnalyzerConfiguration().maxConnections) throws -> StatReport {
        let tracer = RequestTracer(source: probe, redactor: redactor, maxConnections: maxConnections)
        let report = try tracer.collectStatistics(
            seconds: seconds, stop: signals.received,
            secondsLeft: countdown ? { StandardError.write("\rpipetrace: collecting, \($0) s left (Ctrl-C to stop early)  ") } : nil,
            grouping: grouping, ranking: ranking == .slow ? .slowest : .biggest, top: top, html: html)
        if countdown { StandardError.write("\r\u{1b}[K") }
        return report
    }
}

extension RequestStatistics.Grouping: ExpressibleByArgument {}
