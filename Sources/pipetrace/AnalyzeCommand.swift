import Analyzer
import ArgumentParser
import Capture
import Events
import Packets
import Report

struct AnalyzeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Read a pcap, pcapng or JSON capture and show its requests as stat and watch do; no root needed.",
        discussion: """
        Decodes the file's packets (Ethernet, Linux cooked v1/v2 from `tcpdump -i any`, raw IP; \
        or the `net_packet_raw` events of a JSON capture from `pipetrace capture -o` or Tracee; \
        IPv4 and IPv6), reassembles every TCP connection in both directions (out-of-order and \
        retransmitted segments, holes the capture missed, connections already open when it \
        began) and feeds the same analyzer the live probe feeds. By default prints the table \
        `stat` prints, grouped by server address (a file names no containers); --watch prints \
        every record as one JSON object per line, as `watch --json` does.

        Records from a file have no process: `pid` and `comm` are null. `retransmits` counts the \
        segments the capture holds twice while the exchange was in flight. `duration` runs from \
        the packet that completes the request to the packet that completes the response, which \
        is what Wireshark's `http.time` measures; `start` is the request's first packet.
        Malformed packets are skipped and counted on stderr; a file that is not a capture, or is \
        cut short, is an error (after printing what was read before the cut).

        Examples:
          pipetrace analyze capture.pcap
          pipetrace analyze capture.pcapng --group-by target --bigresp --top 5
          pipetrace analyze capture.pcap --watch | jq 'select(.retransmits > 0)'
          pipetrace analyze capture.pcapng --html capture.html
        """
    )

    @Argument(help: ArgumentHelp("The capture file: pcap or pcapng (tcpdump -w, Wireshark, pipetrace capture -w), or JSON lines (pipetrace capture -o, Tracee -o json).",
                                 valueName: "file"))
    var file: String

    @Flag var ranking: StatCommand.Ranking = .slow

    @Option(name: .customLong("group-by"), help: ArgumentHelp("Group by remote (server address), target (method and path), hop, container, protocol or consumer (Kafka group or client id).",
                                                              valueName: "dimension"))
    var grouping: RequestStatistics.Grouping = .remote

    @Option(name: .customLong("top"), help: ArgumentHelp("Requests shown per group.", valueName: "N"))
    var top: Int = 3

    @Flag(name: .customLong("json"), help: "Print the statistics as one JSON object, as `stat --json` does.")
    var json = false

    @Flag(name: .customLong("watch"), help: "Print every request as one JSON object per line instead, as `watch --json` does.")
    var watch = false

    @OptionGroup var redaction: RedactionOptions
    @Option(name: .customLong("html"), help: ArgumentHelp("Also write the statistics as one self-contained HTML report, as `stat --html` does.",
                                                          valueName: "file"))
    var htmlFile: String?

    func validate() throws {
        guard top >= 0 else { throw ValidationError("--top must be 0 or more") }
    }

    func run() throws {
        let reader: CaptureSource
        do { reader = try openCaptureFile(file) } catch { throw FailureMessage(text: "\(error)") }
        let out = OutputStream()
        let htmlOut = try htmlFile.map(CaptureCommand.create)
        var report = StatReport(grouping: grouping, ranking: ranking == .slow ? .slowest : .biggest, top: top,
                                html: htmlOut != nil && !watch)
        let redactor = redaction.makeRedactor()
        let watch = watch // read once: the option's property wrapper costs a lookup per record
        var analysis = CaptureAnalysis()
        analysis.run(reader) { record in
            let record = record.redacted(by: redactor)
            if watch {
                var w = JSONWriter()
                record.writeJSON(into: &w)
                w.newline()
                out.write(w.bytes)
            } else {
                report.add(record)
            }
        }
        if !watch {
            report.window = analysis.replay.duration
            report.resets = analysis.analyzerCounters.resets
            htmlOut?.write(report.html(title: "pipetrace analyze \(file)", warnings: analysis.warnings))
            htmlOut?.flush()
            out.write(json ? report.json() : Array(report.text().utf8))
        }
        out.flush()
        let errors = OutputStream(fd: 2)
        errors.write(analysis.summary)
        if let jsonReader = reader as? JSONCaptureFileReader, jsonReader.malformedLines > 0 {
            errors.write("pipetrace: \(jsonReader.malformedLines) lines of \(file) were not events and were skipped\n")
        }
        errors.flush()
        if let readError = analysis.readError {
            throw FailureMessage(text: "\(readError) (after \(analysis.replay.counters.packets) packets)")
        }
    }
}
