import Analyzer
import ArgumentParser
import Capture
import Glibc
import Probe
import Redaction
import Report
import Testbed

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a small telemetry pipeline in network namespaces and show `stat --slow` over it.",
        discussion: """
        Builds collector → lb → aggregator → storage from the Debian packages nginx and \
        victoria-metrics: a vmagent scrapes three /metrics pages (nginx, namespace `source`) every \
        second and remote-writes to an nginx load balancer, which forwards to a second vmagent, \
        which writes to victoria-metrics. Each runs in a network namespace named after its role \
        (the container names pipetrace shows), joined by a bridge in a namespace of its own. \
        pipetrace traces them for --time seconds and prints what `stat --slow --group-by hop` \
        prints, then removes everything: processes, namespaces, links and files, also on \
        Ctrl-C, SIGTERM or a failure. Namespaces left by a crashed run are removed first.

        Example:
          sudo pipetrace demo --time 10
        """
    )

    @Option(name: .customLong("time"), help: ArgumentHelp("Seconds to trace the pipeline for.", valueName: "seconds"))
    var seconds: Double = 10

    @Option(name: .customLong("top"), help: ArgumentHelp("Slowest requests shown per hop.", valueName: "N"))
    var top: Int = 3

    func validate() throws {
        guard seconds > 0 else { throw ValidationError("--time must be more than 0 seconds") }
    }

    func run() throws {
        let signals = SignalWatcher()
        try Probe.checkPrerequisites()
        let pipeline = try DemoPipeline()
        defer {
            StandardError.write("pipetrace demo: removing the pipeline\n")
            pipeline.remove()
        }
        // The probe attaches before the servers start: a read already blocked when it attaches is never seen.
        let resolver = ContainerResolver()
        var configuration = ProbeConfiguration()
        configuration.netns = Set(DemoPipeline.hosts.compactMap { resolver.netns(named: $0) })
        let probe = try Probe(configuration: configuration, containers: resolver)
        probe.warnings.forEach(StandardError.write)
        StandardError.write("pipetrace demo: starting storage (victoria-metrics), aggregator (vmagent), lb (nginx), source (nginx), collector (vmagent) in \(pipeline.directory)\n")
        var interrupted = false
        try pipeline.start { interrupted = interrupted || signals.received() != nil; return interrupted }
        StandardError.write("pipetrace demo: collector → lb → aggregator → storage is up; tracing it for \(seconds) s\n")
        let countdown = OutputStream(fd: 2).isTerminal
        let report = try StatCommand.collect(probe: probe, seconds: seconds, signals: signals, countdown: countdown,
                                             grouping: .hop, ranking: .slow, top: top, redactor: Redactor())
        let out = OutputStream()
        out.write(report.text())
        out.flush()
        if let exited = pipeline.exitedServer() { StandardError.write("pipetrace demo: warning: \(exited)\n") }
        StandardError.write(RunSummary(probe.statistics).line)
    }
}
