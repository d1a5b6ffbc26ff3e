import Packets

/// libFuzzer's entry: the input is a link-type selector byte, then packets,
/// each a 2-byte little-endian length and that many bytes, replayed through
/// the decoder and the reassembler. Any crash or sanitizer report is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func captureFuzzer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    guard let selector = input.first else { return 0 }
    let types: [LinkType] = [.ethernet, .linuxSLL, .linuxSLL2, .raw, .null, .ipv4, .ipv6]
    let linkType = types[Int(selector) % types.count]
    var replay = CaptureReplay(configuration: TCPReassembler.Configuration(maxPendingBytes: 1 << 14, maxConnections: 32))
    var at = 1
    var time: UInt64 = 0
    while at + 2 <= input.count {
        let length = Int(input[at]) | Int(input[at + 1]) << 8
        at += 2
        let bytes = Array(input[at..<min(input.count, at + length)])
        at += length
        time += 1_000
        // A declared length beyond the bytes left stands for a snap-length cut.
        _ = replay.process(CapturedPacket(timestamp: time, linkType: linkType, bytes: bytes, originalLength: length))
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
