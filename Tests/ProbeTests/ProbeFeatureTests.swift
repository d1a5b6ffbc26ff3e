import Events
import Foundation
import Glibc
import Probe
import TestSupport
import Testing

extension ProbeTests {
    /// Each program's figure goes to the test log, where a reader of CI sees how close any came.
    @Test("every program verifies within 100,000 instructions, with every object and every filter on")
    func verifierBudget() throws {
        var config = ProbeConfiguration()
        config.capturePackets = true
        config.pids = [UInt32(getpid())]
        config.ports = [1]
        let withFilters = try Probe(configuration: config)
        withFilters.detach()
        let plain = try Probe(configuration: ProbeConfiguration())
        plain.detach()
        for (label, probe) in [("filters on, capture", withFilters), ("defaults", plain)] {
            #expect(probe.degradedFeatures.isEmpty, "\(label): \(probe.degradedFeatures)")
            #expect(probe.programs.count >= 33, "\(label): \(probe.programs.count) programs")
            for program in probe.programs {
                print("verifier: \(label): \(program.name) \(program.verifiedInstructions.map(String.init) ?? "?") instructions")
                let count = try #require(program.verifiedInstructions, "\(program.name) has no figure")
                #expect(count <= ProbeProgram.verifierBudget, "\(label): \(program.name) took \(count) instructions")
            }
        }
    }

    @Test("a program the kernel refuses turns off its feature only: the verifier's reason is kept and the rest traces")
    func refusedFeature() throws {
        let net = try TestNetwork()
        defer { net.remove() }
        let resolver = ContainerResolver()
        var config = ProbeConfiguration()
        config.netns = Set([net.server, net.client].compactMap { resolver.netns(named: $0) })
        config.rejectForTesting = .multiMessage
        let probe = try Probe(configuration: config, containers: resolver)

        guard case .degraded(let reason) = probe.features[.multiMessage] else {
            Issue.record("recvmmsg/sendmmsg is \(String(describing: probe.features[.multiMessage]))")
            return
        }
        #expect(reason.contains("the kernel refused program handle_exit_"), "\(reason)")
        #expect(reason.contains("R1 type=scalar expected="), "the verifier's reason: \(reason)")
        let path = try #require(reason.split(separator: "\n").last { $0.hasPrefix("the whole verifier log: ") }
            .map { String($0.dropFirst("the whole verifier log: ".count)) })
        defer { unlink(path) }
        var info = stat()
        #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o600, "the log is private")
        #expect(try String(contentsOfFile: path, encoding: .utf8).contains("processed "))
        #expect(probe.warnings.count == 1 && probe.warnings[0].contains("running without recvmmsg/sendmmsg"))
        for feature in ProbeFeature.allCases where feature != .multiMessage && feature != .packetCapture {
            #expect(probe.features[feature] == .active, "\(feature.rawValue)")
        }
        #expect(!probe.programs.contains { $0.feature == .multiMessage })

        let server = try startServer(net, mode: "plain", bodyBytes: 700)
        let client = try Child(net.exec(net.client, ["python3", Repository.httpPeer, "client", net.serverAddress, "8080", "plain"]))
        var recorder = EventRecorder()
        try recorder.record(probe, until: [client, server])
        let c = try client.readJSON()
        #expect(byteDifference(recorder.data(pid: c.int("pid"), .egress).flatMap(\.payload), c.hexBytes("request")) == nil)
        #expect(byteDifference(recorder.data(pid: c.int("pid"), .ingress).flatMap(\.payload), c.hexBytes("response")) == nil)
    }

    @Test("doctor, the tracing verbs and export's metrics report a refused feature, and run")
    func refusedFeatureReported() throws {
        // Child runs its command through env(1): a leading NAME=value sets the environment.
        let pipetrace = ["PIPETRACE_TEST_REJECT_FEATURE=recvmmsg/sendmmsg", Repository.pipetraceBinary]
        let doctor = try Child(pipetrace + ["doctor"])
        #expect(doctor.wait() == 0)
        let report = doctor.readAll()
        #expect(report.contains("recvmmsg/sendmmsg  degraded   the kernel refused program handle_exit_"), "\(report)")
        #expect(report.contains("socket I/O         active"))

        let events = try Child(pipetrace + ["events", "--json", "--port", "1"])
        let warning = events.readErrorLine() ?? ""
        #expect(warning.hasPrefix("pipetrace: warning: running without recvmmsg/sendmmsg"), "\(warning)")
        #expect(events.readErrorLine()?.contains("tracing") == true)
        events.signal(SIGINT)
        #expect(events.wait() == 0)

        let port = 20000 + Int(getpid() % 10000)
        let export = try Child(pipetrace + ["export", "--listen", "127.0.0.1:\(port)", "--port", "1"])
        defer { export.signal(SIGTERM); export.wait() }
        var metrics = ""
        for _ in 0..<100 where !metrics.contains("pipetrace_probe_feature") {
            usleep(100_000)
            metrics = (try? Shell.run(["curl", "-sf", "http://127.0.0.1:\(port)/metrics"])) ?? ""
        }
        #expect(metrics.contains(#"pipetrace_probe_feature{feature="recvmmsg/sendmmsg",state="degraded"} 1"#), "\(metrics)")
        #expect(metrics.contains(#"pipetrace_probe_feature{feature="socket I/O",state="active"} 1"#))
    }
}
