import ArgumentParser
import Capture
import Glibc
import Probe
import Report

struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check which kernel features are present and which pipetrace uses.",
        discussion: """
        Lists every kernel feature pipetrace needs (BTF, tracefs, the tracepoints it attaches to, \
        ring buffers), those it can use, and those its peers need that it does without (kprobes, \
        fentry). As root it also loads and attaches the probe once, the final proof. Exits \
        non-zero when something required is missing.

        Example:
          sudo pipetrace doctor
        """
    )

    func run() throws {
        let out = OutputStream()
        var missing: [String] = []
        let checks = KernelFeatures.check()
        let width = checks.map(\.name.count).max() ?? 20
        for check in checks {
            let mark: String
            switch (check.present, check.use) {
            case (true, .unused): mark = "present, unused"
            case (false, .unused): mark = "absent, unused"
            case (true, _): mark = "ok"
            case (false, .optional): mark = "absent (optional)"
            case (false, .required): mark = "MISSING"; missing.append(check.name)
            }
            let pad = String(repeating: " ", count: width - check.name.count)
            out.write("\(check.name)\(pad)  \(RecordFormatter.pad(mark, 18))  \(check.detail)\n")
        }
        if missing.isEmpty {
            do {
                let probe = try Probe(configuration: ProbeConfiguration())
                probe.detach()
                DoctorCommand.report(probe, to: out)
            } catch {
                missing.append("probe")
                out.write("\nprobe: cannot load: \(error)\n")
            }
        }
        if !missing.isEmpty {
            out.write("\nmissing: \(missing.joined(separator: ", "))\n")
            out.flush()
            throw ExitCode(1)
        }
    }
}

extension DoctorCommand {
    /// Each feature's state, then each program with the instructions the verifier processed to accept it.
    static func report(_ probe: Probe, to out: OutputStream) {
        out.write("\nprobe features:\n")
        let width = ProbeFeature.allCases.map(\.rawValue.count).max() ?? 20
        for feature in ProbeFeature.allCases {
            let state = probe.features[feature] ?? .off(reason: "not loaded")
            var line = "  \(RecordFormatter.pad(feature.rawValue, width))  \(RecordFormatter.pad(state.name, 9))  "
            switch state {
            case .active: line += feature.summary
            case .off(let reason): line += reason
            case .degraded(let reason): line += reason.split(separator: "\n").joined(separator: "\n" + String(repeating: " ", count: width + 15))
            }
            out.write(line + "\n")
        }
        if probe.features[.tlsOpenSSL] == .active || probe.features[.tlsGo] == .active {
            out.write("\nTLS libraries (plaintext read through uprobes on SSL_read/SSL_write, Go's crypto/tls (*Conn).Read/Write):\n")
            if probe.tlsLibraries.isEmpty { out.write("  none used by any process now; new ones are found as processes start\n") }
            for library in probe.tlsLibraries {
                let users = library.processes.map { "\($0.comm)[\($0.pid)]" }.joined(separator: ", ")
                let kind = switch library.kind {
                case .openSSL: ""
                case .goCryptoTLS(let version): "  (Go crypto/tls\(version.map { ", " + $0 } ?? ""))"
                }
                out.write("  \(library.path)\(kind)  used by \(users)\n")
            }
            for failure in probe.tlsFailures { out.write("  not attached: \(failure)\n") }
        }
        let budget = ProbeProgram.verifierBudget
        out.write("\nprobe programs (instructions the verifier processed; budget \(budget), the kernel's limit 1000000):\n")
        let nameWidth = probe.programs.map(\.name.count).max() ?? 20
        for program in probe.programs {
            let count = program.verifiedInstructions.map(String.init) ?? "?"
            let flag = (program.verifiedInstructions ?? 0) > budget ? "  OVER BUDGET" : ""
            out.write("  \(RecordFormatter.pad(program.name, nameWidth))  \(RecordFormatter.pad(count, 7))  \(program.feature.rawValue)\(flag)\n")
        }
        out.write("\nprobe: loaded and attached \(probe.programs.count) BPF programs, then detached them\n")
    }
}
