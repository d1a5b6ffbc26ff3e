import Analyzer
import Foundation
import Testing
@testable import Report

@Suite("The HTML report: records in, one self-contained HTML document out")
struct HTMLReportTests {
    func render(_ records: [RequestRecord], header: ReportHeader = ReportHeader(title: "pipetrace stat", windowSeconds: 10, lostEvents: 0),
                grouping: RequestStatistics.Grouping = .hop, slowest: Int = 10) -> String {
        var timeline = RequestTimeline(grouping: grouping, slowestCount: slowest)
        // As `stat --html` keeps them: only the trees of the records the timeline draws.
        var hops = HopIndex(retention: .chainsOfShown)
        for record in records {
            hops.add(record, shown: timeline.add(record))
        }
        return String(decoding: HTMLReport.render(header, timeline, hops: hops), as: UTF8.self)
    }

    func count(_ needle: String, in text: String) -> Int {
        text.components(separatedBy: needle).count - 1
    }

    @Test("one panel per hop and one waterfall per slowest chain, three rows each")
    func structure() {
        let html = render(PipelineRecords(requests: 200).records, slowest: 4)
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.hasSuffix("</html>\n"))
        #expect(count("<section class=\"hop-panel\">", in: html) == 3)
        // The 4 slowest records are the last 4 front-door requests: 4 chains of 3 hops.
        #expect(count("<div class=\"waterfall\">", in: html) == 4)
        #expect(count("<g class=\"waterfall-row", in: html) == 12)
        #expect(count("<g class=\"waterfall-row focus\">", in: html) == 4)
        for hop in PipelineRecords.hops { #expect(html.contains("<h3>\(hop)</h3>")) }
        // The server part of a both-ends hop is drawn inside its bar.
        #expect(html.contains("<rect class=\"server\""))
        #expect(html.contains("No retransmits while requests were in flight."))
    }

    @Test("a chain is drawn once, however many of the slowest records are on it")
    func chainsOnce() {
        let html = render(PipelineRecords(requests: 2).records, slowest: 10)
        #expect(count("<div class=\"waterfall\">", in: html) == 2)
        #expect(count("<g class=\"waterfall-row", in: html) == 6)
        // Each chain is titled by its slowest record, the front door.
        #expect(html.contains("<h3>1. GET /items/1 200 · 1.00 ms at 00:00:05.000 · client→lb</h3>"))
    }

    @Test("nothing from a record reaches the page unescaped: no element, attribute or entity can be injected")
    func escaping() {
        let hostile = "/x\"><script>alert(1)</script><img src=x onerror='alert(2)'>&amp;"
        var records = PipelineRecords(requests: 5, target: { _ in hostile }, retransmitsEvery: 1).records
        for i in records.indices {
            records[i].client.container = "<svg onload=alert(3)>"
            records[i].method = "</title><script>"
        }
        let html = render(records, header: ReportHeader(title: "pipetrace analyze <b>.pcap", windowSeconds: 1, lostEvents: 0,
                                                        warnings: ["<script>warning</script>"]))
        #expect(!html.lowercased().contains("<script"))
        #expect(!html.contains("<img"))
        #expect(!html.contains("<svg onload"))
        #expect(!html.contains("<b>"))
        #expect(!html.contains("'alert"))
        #expect(html.contains("/x&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&#39;alert(2)&#39;&gt;&amp;amp;"))
        #expect(html.contains("&lt;svg onload=alert(3)&gt;→lb"))
        // The only script-free policy: even an injected script would not run.
        #expect(html.contains("content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\""))
    }

    @Test("lost events and degraded probe features are stated at the top, before any picture")
    func warningsFirst() {
        let header = ReportHeader(title: "pipetrace stat", windowSeconds: 10, lostEvents: 42, resets: 3,
                                  warnings: ["No cgroup v2 on this host."])
        let html = render(PipelineRecords(requests: 10).records, header: header)
        let firstPanel = html.range(of: "hop-panel\">")!.lowerBound
        let lost = html.range(of: "<li class=\"warning\">42 events were lost in the kernel")!.lowerBound
        let cgroup = html.range(of: "<li class=\"warning\">No cgroup v2 on this host.</li>")!.lowerBound
        #expect(lost < cgroup && cgroup < firstPanel)
        #expect(html.contains("30 requests in 10.0 s, 2026-01-01 00:00:00.000 to 00:00:09.001 UTC, grouped by hop; 42 events lost; 3 TCP resets"))
        #expect(html.contains("3 TCP resets in the window"))
    }

    @Test("a window without requests is still a whole page that says so")
    func empty() {
        let html = render([])
        #expect(html.contains("No requests were seen"))
        #expect(html.contains("No complete request was seen."))
        #expect(html.hasSuffix("</body></html>\n"))
        #expect(!html.contains("class=\"hop-panel\""))
    }

    @Test("retransmits are drawn per container pair, with their total")
    func retransmits() {
        let html = render(PipelineRecords(requests: 100, retransmitsEvery: 10).records)
        #expect(count("<section class=\"pair-panel\">", in: html) == 1)
        #expect(html.contains("<section class=\"pair-panel\"><h3>lb→backend</h3>\n<p class=\"stats\">20 retransmitted segments"))
        #expect(count("<rect class=\"retransmit\"", in: html) == 10)
    }

    @Test("percentiles and errors per hop agree with the records")
    func hopStatistics() {
        let html = render(PipelineRecords(requests: 100).records)
        // Front door: 1 ms + n µs for n in 0..<100; every 50th is a 503.
        #expect(html.contains("<h3>client→lb</h3>\n<p class=\"stats\">100 timed · p50 1.05 · p90 1.09 · p99 1.10 · max 1.10 ms · 2 5xx</p>"),
                "\(html.prefix(4000))")
    }

    @Test("100k records make a report small enough to attach to a ticket, every group drawn")
    func large() {
        let records = PipelineRecords(requests: 33_334, seconds: 600).records
        #expect(records.count > 100_000)
        let html = render(records)
        #expect(html.utf8.count < 512 * 1024, "\(html.utf8.count) bytes")
        #expect(count("<section class=\"hop-panel\">", in: html) == 3)
        #expect(html.contains("100002 requests in 10.0 s"))
    }

    @Test("groups beyond the limit are counted, not drawn")
    func manyGroups() {
        var records: [RequestRecord] = []
        for n in 0..<(HTMLReport.maxGroups + 5) {
            records += PipelineRecords(requests: 1).records.map { r in
                var r = r
                r.server.container = "s\(n)"
                return r
            }
        }
        let html = render(records, grouping: .container)
        #expect(count("<section class=\"hop-panel\">", in: html) == HTMLReport.maxGroups)
        #expect(html.contains("5 quieter groups are not drawn."))
    }

    @Test("numbers are printed to three significant digits, times in UTC")
    func formats() {
        #expect(Format.milliseconds(42_100) == "0.0421")
        #expect(Format.milliseconds(4_210_000) == "4.21")
        #expect(Format.milliseconds(421_000_000) == "421")
        #expect(Format.milliseconds(UInt64?.none) == "-")
        #expect(Format.decimal(-0.04, 1) == "0.0")
        #expect(Format.decimal(2.5, 2) == "2.50")
        #expect(Format.clock(PipelineRecords.origin + 1_500_000, withDate: true) == "2026-01-01 00:00:00.001")
    }
}
