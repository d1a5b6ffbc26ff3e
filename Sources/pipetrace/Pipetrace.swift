import ArgumentParser

@main
struct Pipetrace: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipetrace",
        abstract: "See where the time goes between the containers of a telemetry pipeline.",
        discussion: """
        pipetrace watches every TCP socket read and write, connection and retransmit on this \
        host with BPF programs attached to kernel tracepoints (no kprobes needed), and names \
        the container each process lives in.

        Examples:
          sudo pipetrace doctor
          sudo pipetrace events --time 10 --container lb
          sudo pipetrace events --json --port 8428 | grep 'POST /api/v1/write'
        """,
        subcommands: [DoctorCommand.self, EventsCommand.self, StatCommand.self, WatchCommand.self, DemoCommand.self, CaptureCommand.self, AnalyzeCommand.self, ExportCommand.self]
    )
}
