import CPipetraceEvents
import Events
import FuzzDriver
import Glibc

/// libFuzzer's entry: the input is ring-buffer records, each a 2-byte
/// little-endian length and that many bytes, decoded in turn by one decoder
/// kept across them as the probe keeps it (its process and container names
/// carried from record to record, forgotten now and then). A record that does
/// not decode is an error value; any crash or sanitizer report is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func eventDecoderFuzzer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    var decoder = EventDecoder()
    var at = 0, records = 0
    while at + 2 <= input.count {
        let length = Int(input[at]) | Int(input[at + 1]) << 8
        at += 2
        let end = min(input.count, at + length)
        let record = UnsafeRawBufferPointer(rebasing: input[at..<end])
        at = end
        records += 1
        if records % 5 == 0 { decoder.forgetContainerNames() }
        guard let event = try? decoder.decode(record, naming: { _, netns, cgroup in cgroup % 3 == 0 ? nil : ContainerLabel(name: "c\(netns % 7)", id: cgroup % 2 == 0 ? "abc" : nil) }) else {
            continue
        }
        // What every output prints of an event: its ends, whatever bytes the addresses hold.
        _ = event.header.tuple.local.description.count + event.header.tuple.remote.description.count
    }
    return 0
}

@_cdecl("EventDecoderFuzzer_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    if let directory = getenv("PIPETRACE_FUZZ_WRITE_SEEDS") {
        return SeedRecords.write(to: String(cString: directory))
    }
    return FuzzDriver.run(argc, argv, eventDecoderFuzzer)
}
