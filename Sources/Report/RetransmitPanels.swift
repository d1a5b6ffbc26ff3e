/// Retransmits over the window per container pair: one bar chart each, the
/// busiest pairs first, on the same time columns as the latency heatmaps.
struct RetransmitPanels {
    let timeline: RequestTimeline
    let time: TimeAxis
    let resets: UInt64?

    func write(into html: inout HTMLWriter) {
        html.raw("<section id=\"retransmits\"><h2>Retransmits per container pair</h2>\n")
        if let resets {
            html.element("<p class=\"note\">", "\(resets) TCP resets in the window (counted by the probe, not per pair).", "</p>\n")
        }
        let pairs = timeline.pairs.sorted { $0.total != $1.total ? $0.total > $1.total : $0.key < $1.key }
        if pairs.isEmpty {
            html.raw("<p class=\"note\">No retransmits while requests were in flight.</p></section>\n")
            return
        }
        html.raw("<div class=\"panels\">\n")
        let plotWidth = Double(TimeAxis.columns) * 8
        for pair in pairs.prefix(HTMLReport.maxPairs) {
            var columns = [UInt64](repeating: 0, count: TimeAxis.columns)
            for sample in pair.samples { columns[time.column(sample.start)] += UInt64(sample.count) }
            let most = Double(columns.max() ?? 1)
            html.raw("<section class=\"pair-panel\"><h3>")
            html.text(pair.key)
            html.raw("</h3>\n")
            html.element("<p class=\"stats\">", "\(pair.total) retransmitted segments, at most \(Int(most)) per \(Format.decimal(Double(time.span) / 1e9 / Double(TimeAxis.columns), 2)) s",
                         "</p>\n")
            html.raw("<svg width=\"")
            html.number(plotWidth + 4)
            html.raw("\" height=\"70\" role=\"img\"><line class=\"grid\" x1=\"0\" y1=\"52\" x2=\"")
            html.number(plotWidth)
            html.raw("\" y2=\"52\"/>\n")
            for (column, n) in columns.enumerated() where n > 0 {
                let height = max(1, Double(n) / most * 48)
                html.raw("<rect class=\"retransmit\" x=\"")
                html.number(Double(column) * 8)
                html.raw("\" y=\"")
                html.number(52 - height)
                html.raw("\" width=\"7\" height=\"")
                html.number(height)
                html.raw("\"><title>")
                html.text("\(n) at \(Format.clock(time.first &+ time.span * Int64(column) / Int64(TimeAxis.columns), withDate: false))")
                html.raw("</title></rect>")
            }
            time.writeLabels(x: 0, width: plotWidth, y: 66, into: &html)
            html.raw("</svg></section>\n")
        }
        html.raw("</div>\n")
        if pairs.count > HTMLReport.maxPairs {
            html.element("<p class=\"note\">", "\(pairs.count - HTMLReport.maxPairs) pairs with fewer retransmits are not drawn.", "</p>\n")
        }
        html.raw("</section>\n")
    }
}
