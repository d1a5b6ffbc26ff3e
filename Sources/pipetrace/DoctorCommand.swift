import ArgumentParser
import Glibc
import Probe

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
            out.write("\(check.name)\(pad)  \(mark.padding(18))  \(check.detail)\n")
        }
        if missing.isEmpty {
            do {
                let probe = try Probe(configuration: ProbeConfiguration())
                let programs = probe.attachedPrograms
                probe.detach()
                out.write("\nprobe: loaded and attached \(programs.count) BPF programs, then detached them\n")
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

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
