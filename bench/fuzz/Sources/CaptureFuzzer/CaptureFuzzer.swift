import Events
import Packets

/// libFuzzer's entry: the input is a link-type selector byte, then packets,
/// each a 2-byte little-endian length and that many bytes, replayed through
/// the decoder and the reassembler as `analyze` runs them: each packet read
/// into one reused buffer, events into one reused array. Any crash or
/// sanitizer report is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func captureFuzzer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    guard let selector = input.first else { return 0 }
    let types: [LinkType] = [.ethernet, .linuxSLL, .linuxSLL2, .raw, .null, .ipv4, .ipv6]
    let linkType = types[Int(selector) % types.count]
    var replay = CaptureReplay(configuration: TCPReassembler.Configuration(maxPendingBytes: 1 << 14, maxConnections: 32))
    var at = 1
    var packet = CapturedPacket(timestamp: 0, linkType: linkType, bytes: [])
    var events: [ProbeEvent] = []
    while at + 2 <= input.count {
        let length = Int(input[at]) | Int(input[at + 1]) << 8
        at += 2
        packet.bytes.removeAll(keepingCapacity: true)
        packet.bytes.append(contentsOf: input[at..<min(input.count, at + length)])
        at += length
        packet.timestamp += 1_000
        // A declared length beyond the bytes left stands for a snap-length cut.
        packet.originalLength = max(length, packet.bytes.count)
        events.removeAll(keepingCapacity: true)
        replay.process(packet, into: &events)
    }
    _ = replay.finish()
    return 0
}

/// SwiftPM links executables with `main` renamed to `<module>_main`; hand it to libFuzzer's driver.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(_ argc: UnsafeMutablePointer<CInt>,
                     _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                     _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

@_cdecl("CaptureFuzzer_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments, captureFuzzer)
}
