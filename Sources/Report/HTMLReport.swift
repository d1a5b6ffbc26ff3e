import Analyzer
import Events

/// The HTML report of `stat --html` and `analyze --html`: records in, one
/// self-contained HTML file out (inline CSS and SVG, no script, no request
/// to anywhere: its Content-Security-Policy forbids both), small enough to
/// attach to an incident ticket. Pure: no I/O, no clock.
///
/// From top to bottom: what the window is and what it misses (lost events,
/// degraded probe features); per group (hop by default) a latency heatmap
/// over the window with its histogram beside it; the slowest requests as
/// waterfalls of their hop chains (each hop's duration, self, network and
/// server time); retransmits over time per container pair.
///
/// Records are shown as given: whatever redaction an output needs is done
/// to the records before they reach `RequestTimeline.add` and `HopIndex.add`.
public enum HTMLReport {
    /// Groups and container pairs drawn at most (the busiest); the rest are counted in a line.
    public static let maxGroups = 24
    public static let maxPairs = 24

    public static func render(_ header: ReportHeader, _ timeline: RequestTimeline, hops: HopIndex) -> [UInt8] {
        var html = HTMLWriter(capacity: 1 << 18)
        let time = TimeAxis(first: timeline.first, last: timeline.last)
        html.raw("""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>
            """)
        html.text(header.title + (time.isEmpty ? "" : " — " + Format.clock(time.first, withDate: true)))
        html.raw("</title>\n<style>")
        html.raw(style)
        html.raw("</style></head>\n<body>\n")
        writeSummary(header, timeline, time, into: &html)
        LatencyPanels(timeline: timeline, time: time).write(into: &html)
        Waterfalls(timeline: timeline, hops: hops).write(into: &html)
        RetransmitPanels(timeline: timeline, time: time, resets: header.resets).write(into: &html)
        html.raw("<footer>Made by pipetrace. Every time is the traced end's clock; UTC.</footer>\n</body></html>\n")
        return html.bytes
    }

    private static func writeSummary(_ header: ReportHeader, _ timeline: RequestTimeline, _ time: TimeAxis,
                                     into html: inout HTMLWriter) {
        html.raw("<header><h1>")
        html.text(header.title)
        html.raw("</h1>\n<p class=\"summary\">")
        var line = "\(timeline.records) requests in \(Format.decimal(header.windowSeconds, 1)) s"
        if !time.isEmpty { line += ", \(Format.clock(time.first, withDate: true)) to \(Format.clock(time.last, withDate: false)) UTC" }
        line += ", grouped by \(timeline.grouping.rawValue); \(header.lostEvents) events lost"
        if let resets = header.resets { line += "; \(resets) TCP resets" }
        html.text(line)
        html.raw("</p>\n")
        var warnings = header.warnings
        if header.lostEvents > 0 {
            warnings.insert("\(header.lostEvents) events were lost in the kernel (the ring buffer was full): some requests "
                            + "are missing or incomplete, and the numbers below undercount.", at: 0)
        }
        if !warnings.isEmpty {
            html.raw("<ul class=\"warnings\">\n")
            for warning in warnings { html.element("<li class=\"warning\">", warning, "</li>\n") }
            html.raw("</ul>\n")
        }
        html.raw("</header>\n")
    }

    private static let style: StaticString = """
        body{font:13px/1.4 system-ui,sans-serif;margin:16px 24px;color:#1f2937;background:#fff}
        h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px;border-bottom:1px solid #e5e7eb}
        h3{font-size:13px;margin:0 0 2px;font-family:ui-monospace,monospace;word-break:break-all}
        .summary{margin:0;color:#4b5563}.warnings{margin:8px 0;padding:0;list-style:none}
        .warning{background:#fef3c7;border-left:4px solid #d97706;padding:4px 8px;margin:2px 0}
        .panels{display:flex;flex-wrap:wrap;gap:12px}
        .hop-panel,.pair-panel{border:1px solid #e5e7eb;border-radius:4px;padding:6px 8px}
        .stats{margin:0 0 4px;color:#4b5563;font-variant-numeric:tabular-nums}
        .waterfall{margin:0 0 16px}.waterfall svg,.hop-panel svg,.pair-panel svg{display:block}
        svg text{font:11px ui-monospace,monospace;fill:#374151}svg .axis{fill:#6b7280}
        .total{fill:#9ca3af}.server{fill:#2563eb}.network{fill:#f59e0b}.focus{font-weight:bold}
        .bar{fill:#6b7280}.retransmit{fill:#dc2626}.grid{stroke:#e5e7eb}
        .legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px;vertical-align:-1px}
        .note{color:#6b7280}footer{margin-top:24px;color:#9ca3af;font-size:11px}
        .h1{fill:#fcd3ae}.h2{fill:#fcbf8a}.h3{fill:#fbab6d}.h4{fill:#f98c3b}.h5{fill:#ea6a14}.h6{fill:#c2510c}.h7{fill:#973f0a}.h8{fill:#6b2c07}

        """
}

/// The window's span in Unix nanoseconds, cut into columns.
struct TimeAxis {
    var first: Int64
    var last: Int64
    static let columns = 60

    init(first: Int64, last: Int64) {
        self.first = first
        self.last = max(first, last)
    }

    var isEmpty: Bool { first == .max }
    var span: Int64 { max(1, last &- first) }

    func column(_ time: Int64) -> Int {
        let offset = Double(max(0, time &- first)) / Double(span)
        return min(TimeAxis.columns - 1, Int(offset * Double(TimeAxis.columns)))
    }

    /// Start and end labels under a plot `width` wide starting at `x`, at `y`.
    func writeLabels(x: Double, width: Double, y: Double, into html: inout HTMLWriter) {
        html.raw("<text class=\"axis\" x=\"")
        html.number(x)
        html.raw("\" y=\"")
        html.number(y)
        html.raw("\">")
        html.text(Format.clock(first, withDate: false))
        html.raw("</text><text class=\"axis\" text-anchor=\"end\" x=\"")
        html.number(x + width)
        html.raw("\" y=\"")
        html.number(y)
        html.raw("\">")
        html.text(Format.clock(last, withDate: false))
        html.raw("</text>\n")
    }
}
