import Foundation
import TestSupport
import Testing

/// The capture committed under captures/, made by `pipetrace capture` from
/// real traffic (captures/README.md says how): readable by the tools it is for.
@Suite("Committed capture (captures/pipeline.pcapng)")
struct CommittedCaptureTests {
    let pcapng = Repository.root.appendingPathComponent("captures/pipeline.pcapng").path

    @Test("pipetrace analyze reads the committed pcapng and finds the requests tshark finds")
    func analyzeReadsIt() throws {
        let analyze = try Child([Repository.pipetraceBinary, "analyze", pcapng, "--watch"])
        let records = analyze.readAll().split(separator: "\n")
        let errors = analyze.readAllErrors()
        #expect(analyze.wait() == 0, "\(errors)")
        let tshark = try Shell.run(["tshark", "-r", pcapng, "-Y", "http.request", "-T", "fields", "-e", "frame.number"])
        let requests = tshark.split(separator: "\n").count
        #expect(requests > 0)
        #expect(records.count == requests, "\(errors)")
        #expect(try Shell.run(["tshark", "-r", pcapng, "-Y", "frame.comment contains \"Container: lb\"", "-T", "fields",
                               "-e", "frame.number"]).split(separator: "\n").count > 0)
    }
}
