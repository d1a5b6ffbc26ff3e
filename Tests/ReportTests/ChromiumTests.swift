import Analyzer
import Foundation
import TestSupport
import Testing
@testable import Report

/// The report as a browser shows it: headless Chromium opens it, the test
/// counts what it drew and keeps a screenshot in `.build/report-tests/`
/// (beside `make test`'s log).
@Suite("The HTML report in headless Chromium", .enabled(if: RootRequirement.enabled(when: Chromium.available)))
struct ChromiumTests {
    @Test("100k records render without a console message: every hop panel and waterfall row drawn, no injected element")
    func renders() throws {
        let hostile = "/login\"><script>document.title='pwned'</script><img src=x onerror=alert(1)>"
        var records = PipelineRecords(requests: 33_334, seconds: 60, retransmitsEvery: 500).records
        // The slowest chains carry the hostile target, so it is in the waterfalls as well as the panels.
        for i in records.indices.suffix(30) { records[i].target = hostile }
        var timeline = RequestTimeline(grouping: .hop, slowestCount: 10)
        var hops = HopIndex()
        for record in records {
            timeline.add(record)
            hops.add(record)
        }
        let header = ReportHeader(title: "pipetrace stat", windowSeconds: 60, lostEvents: 17, resets: 2,
                                  warnings: ["No cgroup v2 on this host: container ids are missing."])
        let directory = try Chromium.artifactDirectory("report-tests")
        let path = directory + "/synthetic.html"
        try Data(HTMLReport.render(header, timeline, hops: hops)).write(to: URL(fileURLWithPath: path))
        let page = try Chromium.open(path, screenshot: directory + "/synthetic.png")

        #expect(page.console.isEmpty, "\(page.console)")
        let dom = page.dom
        #expect(dom.components(separatedBy: "<section class=\"hop-panel\">").count - 1 == 3, "\(dom.prefix(3000))")
        // The 10 slowest records are the last 10 front-door requests: 10 chains of 3 hops.
        #expect(dom.components(separatedBy: "<div class=\"waterfall\">").count - 1 == 10)
        #expect(dom.components(separatedBy: "<g class=\"waterfall-row").count - 1 == 30)
        #expect(dom.components(separatedBy: "<section class=\"pair-panel\">").count - 1 == 1)
        #expect(dom.contains("<title>pipetrace stat — 2026-01-01 00:00:00.000</title>"))
        #expect(!dom.contains("<script") && !dom.contains("<img"))
        #expect(dom.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;"))
        #expect(dom.contains("17 events were lost in the kernel"))
        let png = try Data(contentsOf: URL(fileURLWithPath: directory + "/synthetic.png"))
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        // A blank page of this size compresses to a few KiB; drawn panels and bars do not.
        #expect(png.count > 40_000, "\(png.count) bytes")
    }
}
