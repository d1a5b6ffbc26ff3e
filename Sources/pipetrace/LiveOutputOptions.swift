import ArgumentParser

/// How long a live verb (events, watch) runs and how it prints.
struct LiveOutputOptions: ParsableArguments {
    @Option(name: .customLong("time"), help: ArgumentHelp("Stop after this many seconds (default: until Ctrl-C).", valueName: "seconds"))
    var seconds: Double?

    @Flag(name: .customLong("json"), help: "One JSON object per line.")
    var json = false
}
