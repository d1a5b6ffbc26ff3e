import Analyzer

/// The slowest requests, each as the waterfall of its hop chain: one row per
/// hop on the chain's own time scale, the bar its duration, the server's part
/// of it blue where the server end was traced and the rest (network) amber,
/// and the hop's duration, self, network and server time beside it. A chain
/// is drawn once, however many of the slowest requests are on it.
struct Waterfalls {
    let timeline: RequestTimeline
    let hops: HopIndex

    static let labelWidth = 330.0
    static let barWidth = 420.0
    static let rowHeight = 18.0

    func write(into html: inout HTMLWriter) {
        html.raw("""
            <section id="waterfalls"><h2>Slowest requests, hop by hop</h2>
            <p class="legend note">bar: the hop's duration on the chain's clock<span class="server"
             style="background:#2563eb"></span>server time<span style="background:#f59e0b"></span>network time
            <span style="background:#9ca3af"></span>ends not both traced · self: not waiting on the requests it made</p>

            """)
        var shownRoots: Set<UInt64> = []
        var number = 0
        for record in timeline.slowest {
            let chain = hops.chain(for: record)
            guard let root = chain.hops.first?.record, shownRoots.insert(root.id).inserted else { continue }
            number += 1
            write(chain, focus: record, number: number, into: &html)
        }
        if number == 0 { html.raw("<p class=\"note\">No complete request was seen.</p>\n") }
        html.raw("</section>\n")
    }

    private func write(_ chain: HopChain, focus: RequestRecord, number: Int, into html: inout HTMLWriter) {
        let records = chain.hops.compactMap(\.record)
        let first = records.map(\.start).min() ?? focus.start
        let last = records.map { $0.start &+ Int64(clamping: $0.duration) }.max() ?? focus.start
        let span = Double(max(1, last &- first))
        html.raw("<div class=\"waterfall\"><h3>")
        var title = "\(number). \(Self.request(focus)) · \(Format.milliseconds(focus.duration)) ms at \(Format.clock(focus.start, withDate: false))"
        if let hop = focus.hop { title += " · " + hop }
        html.text(title)
        html.raw("</h3>\n")
        if chain.parentMissing {
            html.raw("<p class=\"note\">↑ the request the first hop served was not seen</p>\n")
        }
        let height = Double(chain.hops.count) * Self.rowHeight + 4
        html.raw("<svg width=\"1080\" height=\"")
        html.number(height)
        html.raw("\" role=\"img\">\n")
        for (index, hop) in chain.hops.enumerated() {
            let y = Double(index) * Self.rowHeight
            let indent = 12 * Double(hop.depth)
            guard let r = hop.record else {
                html.raw("<g class=\"waterfall-more\"><text x=\"")
                html.number(indent + 14)
                html.raw("\" y=\"")
                html.number(y + 13)
                html.raw("\">")
                html.text("… \(hop.omitted) more requests made to serve it")
                html.raw("</text></g>\n")
                continue
            }
            html.raw(hop.isFocus ? "<g class=\"waterfall-row focus\"><text x=\"" : "<g class=\"waterfall-row\"><text x=\"")
            html.number(indent)
            html.raw("\" y=\"")
            html.number(y + 13)
            html.raw("\">")
            html.text(Self.clip("\(r.hop ?? "?") \(Self.request(r))", to: 46 - 2 * hop.depth))
            html.raw("<title>")
            html.text("\(r.hop ?? "?") \(Self.request(r))")
            html.raw("</title></text>")
            let x = Self.labelWidth + Double(r.start &- first) / span * Self.barWidth
            let width = max(1, Double(r.duration) / span * Self.barWidth)
            let split = r.serverTime != nil && (r.side == .server || r.serverStart != nil)
            bar(split ? (r.side == .server ? "server" : "network") : "total", x: x, y: y + 3, width: width, into: &html)
            if r.side == .both, let serverStart = r.serverStart, let serverTime = r.serverTime {
                let sx = Self.labelWidth + Double(serverStart &- first) / span * Self.barWidth
                bar("server", x: sx, y: y + 3, width: max(1, Double(serverTime) / span * Self.barWidth), into: &html)
            }
            html.raw("<text x=\"")
            html.number(Self.labelWidth + Self.barWidth + 8)
            html.raw("\" y=\"")
            html.number(y + 13)
            html.raw("\">")
            var numbers = "\(Format.milliseconds(r.duration)) ms · self \(Format.milliseconds(r.selfTime))"
            numbers += " · net \(Format.milliseconds(r.network)) · server \(Format.milliseconds(r.serverTime))"
            if r.retransmits > 0 { numbers += " · \(r.retransmits) retransmits" }
            html.text(numbers)
            html.raw("</text></g>\n")
        }
        html.raw("</svg></div>\n")
    }

    private func bar(_ kind: StaticString, x: Double, y: Double, width: Double, into html: inout HTMLWriter) {
        html.raw("<rect class=\"")
        html.raw(kind)
        html.raw("\" x=\"")
        html.number(x)
        html.raw("\" y=\"")
        html.number(y)
        html.raw("\" width=\"")
        html.number(width)
        html.raw("\" height=\"12\"/>")
    }

    /// "GET /slow 200" as far as known.
    static func request(_ r: RequestRecord) -> String {
        "\(r.method ?? "?") \(r.target ?? "?") \(r.status.map(String.init) ?? "-")"
    }

    static func clip(_ text: String, to characters: Int) -> String {
        text.count <= characters ? text : String(text.prefix(max(1, characters - 1))) + "…"
    }
}
