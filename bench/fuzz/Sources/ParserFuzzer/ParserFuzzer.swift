import Analyzer

/// libFuzzer's entry: the input is a parser selector byte, then segments,
/// each a flags byte (bit 0: sent by the server; bit 1: the rest of the
/// declared length went uncaptured), a 2-byte little-endian length and that
/// many bytes, fed to one parser as the analyzer feeds it. A parser must
/// throw, never trap (ProtocolParser's promises); after a throw a fresh
/// parser takes the rest, as the analyzer's resync does.
@_cdecl("LLVMFuzzerTestOneInput")
public func parserFuzzer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    guard let selector = input.first else { return 0 }
    let parsers = ProtocolRegistry.standard.parsers
    let type = parsers[Int(selector) % parsers.count]
    var parser = type.init()
    var events: [ParserEvent] = []
    var at = 1
    while at + 3 <= input.count {
        let flags = input[at]
        let length = Int(input[at + 1]) | Int(input[at + 2]) << 8
        at += 3
        let bytes = input[at..<min(input.count, at + length)]
        at += length
        let missing = flags & 2 != 0 ? UInt64(length) : 0
        _ = type.detect(bytes)
        events.removeAll(keepingCapacity: true)
        do {
            try parser.consume(StreamSegment(bytes: bytes, missing: missing), from: flags & 1 != 0 ? .server : .client, into: &events)
        } catch {
            parser = type.init()
        }
    }
    parser.finish(.client, into: &events)
    parser.finish(.server, into: &events)
    return 0
}

/// SwiftPM links executables with `main` renamed to `<module>_main`; hand it to libFuzzer's driver.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(_ argc: UnsafeMutablePointer<CInt>,
                     _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                     _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt

@_cdecl("ParserFuzzer_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments, parserFuzzer)
}
