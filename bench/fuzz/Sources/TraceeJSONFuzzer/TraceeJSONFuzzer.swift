import CaptureFormats
import Events
import FuzzDriver
import Packets

/// libFuzzer's entry: the input is a JSON-lines capture (`pipetrace capture
/// -o`, Tracee's `-o json`), read line by line as `analyze` reads one, the
/// packets of its `net_packet_raw` lines replayed through the decoder and TCP
/// reassembler. A line that is not one of ours is `.malformed`; any crash or
/// sanitizer report is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func traceeJSONFuzzer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    _ = TraceeJSONReader.looksLikeJSON(input.prefix(64))
    var replay = CaptureReplay(configuration: TCPReassembler.Configuration(maxPendingBytes: 1 << 14, maxConnections: 32))
    var events: [ProbeEvent] = []
    for line in input.split(separator: 0x0a, omittingEmptySubsequences: false) {
        guard case .packet(let packet) = TraceeJSONReader.read(Array(line)) else { continue }
        events.removeAll(keepingCapacity: true)
        replay.process(packet, into: &events)
    }
    _ = replay.finish()
    return 0
}

@_cdecl("TraceeJSONFuzzer_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzDriver.run(argc, argv, traceeJSONFuzzer)
}
