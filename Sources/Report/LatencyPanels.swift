import Analyzer
import Glibc

/// One panel per group (hop by default): a heatmap of its latencies over
/// the window (columns of time, rows of latency on a log scale shared by
/// every panel, darker for more requests) with the histogram of the whole
/// window beside it, and its count, percentiles and errors above.
struct LatencyPanels {
    let timeline: RequestTimeline
    let time: TimeAxis

    static let binsPerDecade = 4.0
    static let maxRows = 32
    static let cellWidth = 8.0
    static let cellHeight = 9.0
    static let axisWidth = 58.0
    static let histogramWidth = 110.0

    /// Log-scale latency rows over every panel's range: a quarter decade each, fewer if the range is wide.
    struct LatencyAxis {
        var low: Double
        var step: Double
        var rows: Int

        init(min: UInt64, max: UInt64) {
            let lo = (log10(Double(Swift.max(1_000, min))) * binsPerDecade).rounded(.down) / binsPerDecade
            let hi = Swift.max(lo + 1 / binsPerDecade, (log10(Double(Swift.max(1_000, max)) + 1e-9) * binsPerDecade).rounded(.up) / binsPerDecade)
            var step = 1 / binsPerDecade
            while (hi - lo) / step > Double(maxRows) { step *= 2 }
            low = lo
            self.step = step
            rows = Swift.max(1, Int(((hi - lo) / step).rounded(.up)))
        }

        func row(_ duration: UInt64) -> Int {
            let r = Int((log10(Double(Swift.max(1, duration))) - low) / step)
            return Swift.min(rows - 1, Swift.max(0, r))
        }

        /// The lower edge of `row` in nanoseconds.
        func edge(_ row: Int) -> UInt64 { UInt64(pow(10, low + Double(row) * step).rounded()) }
    }

    func write(into html: inout HTMLWriter) {
        html.raw("<section id=\"latency\"><h2>Latency per ")
        html.text(timeline.grouping.rawValue)
        html.raw("</h2>\n")
        let groups = timeline.groups.sorted {
            let (a, b) = ($0.samples.count + Int($0.incomplete), $1.samples.count + Int($1.incomplete))
            return a != b ? a > b : $0.key < $1.key
        }
        if groups.isEmpty {
            html.raw("<p class=\"note\">No requests were seen (are the filters right?).</p></section>\n")
            return
        }
        let timed = groups.filter { $0.durations.count > 0 }
        let axis = LatencyAxis(min: timed.map(\.durations.min).min() ?? 1_000_000,
                               max: timed.map(\.durations.max).max() ?? 1_000_000)
        html.raw("<div class=\"panels\">\n")
        for group in groups.prefix(HTMLReport.maxGroups) { writePanel(group, axis, into: &html) }
        html.raw("</div>\n")
        if groups.count > HTMLReport.maxGroups {
            html.element("<p class=\"note\">", "\(groups.count - HTMLReport.maxGroups) quieter groups are not drawn.", "</p>\n")
        }
        html.raw("</section>\n")
    }

    private func writePanel(_ group: RequestTimeline.Group, _ axis: LatencyAxis, into html: inout HTMLWriter) {
        html.raw("<section class=\"hop-panel\"><h3>")
        html.text(group.key)
        html.raw("</h3>\n<p class=\"stats\">")
        let d = group.durations
        var stats = "\(d.count) timed"
        if d.count > 0 {
            stats += " · p50 \(Format.milliseconds(d.value(atPercentile: 50))) · p90 \(Format.milliseconds(d.value(atPercentile: 90)))"
            stats += " · p99 \(Format.milliseconds(d.value(atPercentile: 99))) · max \(Format.milliseconds(d.max)) ms"
        }
        if group.serverErrors > 0 { stats += " · \(group.serverErrors) 5xx" }
        if group.incomplete > 0 { stats += " · \(group.incomplete) cut short" }
        html.text(stats)
        html.raw("</p>\n")
        guard d.count > 0 else { return html.raw("</section>\n") }

        let columns = TimeAxis.columns
        var cells = [UInt32](repeating: 0, count: columns * axis.rows)
        var histogram = [UInt64](repeating: 0, count: axis.rows)
        for sample in group.samples {
            let row = axis.row(sample.duration)
            cells[row * columns + time.column(sample.start)] += 1
            histogram[row] += 1
        }
        let top = 8.0
        let plotWidth = Double(columns) * Self.cellWidth
        let plotHeight = Double(axis.rows) * Self.cellHeight
        let width = Self.axisWidth + plotWidth + 8 + Self.histogramWidth
        let height = top + plotHeight + 16
        html.raw("<svg class=\"heatmap\" width=\"")
        html.number(width)
        html.raw("\" height=\"")
        html.number(height)
        html.raw("\" role=\"img\">\n")
        // Latency labels at every other row edge, from the bottom.
        for row in stride(from: 0, through: axis.rows, by: 2) {
            html.raw("<text class=\"axis\" text-anchor=\"end\" x=\"")
            html.number(Self.axisWidth - 4)
            html.raw("\" y=\"")
            html.number(top + plotHeight - Double(row) * Self.cellHeight + 3)
            html.raw("\">")
            html.text(Format.milliseconds(axis.edge(row)) + " ms")
            html.raw("</text>")
        }
        html.raw("\n<rect class=\"grid\" fill=\"none\" x=\"")
        html.number(Self.axisWidth)
        html.raw("\" y=\"")
        html.number(top)
        html.raw("\" width=\"")
        html.number(plotWidth)
        html.raw("\" height=\"")
        html.number(plotHeight)
        html.raw("\"/>\n")
        let most = Double(cells.max() ?? 1)
        for row in 0..<axis.rows {
            let y = top + plotHeight - Double(row + 1) * Self.cellHeight
            for column in 0..<columns where cells[row * columns + column] > 0 {
                let n = cells[row * columns + column]
                html.raw("<rect class=\"h")
                html.number(Self.shade(Double(n), most: most))
                html.raw("\" x=\"")
                html.number(Self.axisWidth + Double(column) * Self.cellWidth)
                html.raw("\" y=\"")
                html.number(y)
                html.raw("\" width=\"8\" height=\"9\"><title>")
                html.text("\(n) at \(Format.milliseconds(axis.edge(row)))–\(Format.milliseconds(axis.edge(row + 1))) ms")
                html.raw("</title></rect>")
            }
            html.raw("\n")
        }
        // The window's histogram, sharing the heatmap's rows.
        let widest = Double(histogram.max() ?? 1)
        let x = Self.axisWidth + plotWidth + 8
        for row in 0..<axis.rows where histogram[row] > 0 {
            html.raw("<rect class=\"bar\" x=\"")
            html.number(x)
            html.raw("\" y=\"")
            html.number(top + plotHeight - Double(row + 1) * Self.cellHeight + 1)
            html.raw("\" width=\"")
            html.number(max(1, Double(histogram[row]) / widest * (Self.histogramWidth - 30)))
            html.raw("\" height=\"7\"><title>")
            html.text("\(histogram[row]) requests")
            html.raw("</title></rect>")
        }
        time.writeLabels(x: Self.axisWidth, width: plotWidth, y: top + plotHeight + 12, into: &html)
        html.raw("</svg></section>\n")
    }

    /// Eight shades, on a log scale of the count: a single request is still visible next to thousands.
    static func shade(_ count: Double, most: Double) -> Int {
        guard most > 1 else { return 8 }
        return 1 + min(7, Int(log(count) / log(most) * 7.999))
    }
}
