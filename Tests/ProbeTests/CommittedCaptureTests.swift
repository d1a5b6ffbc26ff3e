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

    @Test("pipetrace analyze reads the committed JSON capture and finds the same requests as in the pcapng")
    func analyzeReadsTheJSON() throws {
        let json = Repository.root.appendingPathComponent("captures/pipeline.json").path
        func exchanges(_ path: String) throws -> [String] {
            let analyze = try Child([Repository.pipetraceBinary, "analyze", path, "--watch"])
            let lines = analyze.readAll().split(separator: "\n")
            #expect(analyze.wait() == 0, "\(analyze.readAllErrors())")
            return try lines.map { line in
                let r = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                return "\(r["start"] ?? "") \(r["method"] ?? "") \(r["target"] ?? "") \(r["status"] ?? "") \(r["duration_ms"] ?? "")"
            }.sorted()
        }
        let fromJSON = try exchanges(json)
        #expect(fromJSON.count == 10)
        #expect(fromJSON == (try exchanges(pcapng)))
    }
}
