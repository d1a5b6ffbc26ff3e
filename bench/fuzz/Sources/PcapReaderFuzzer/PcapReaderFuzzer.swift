import CLibPcap
import Events
import FuzzDriver
import Glibc
import Packets

/// The file libFuzzer's input is written to, in memory (/dev/shm) and unlinked
/// at once, opened by path (/proc/self/fd/N) as `analyze` opens a capture:
/// through pt_pcap.c and libpcap's own checks.
private let memoryFile: Int32 = {
    let path = "/dev/shm/pipetrace-pcap-fuzz-\(getpid())"
    let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
    unlink(path)
    return fd
}()

/// libFuzzer's entry: the input is a capture file (pcap or pcapng), read
/// packet by packet through pt_pcap.c as `analyze` reads one and replayed
/// through the decoder and TCP reassembler. A file libpcap refuses or cannot
/// read to its end is an error; any crash or sanitizer report is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func pcapReaderFuzzer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard memoryFile >= 0, ftruncate(memoryFile, 0) == 0, pwrite(memoryFile, data, size, 0) == size else { return 0 }
    var error = [CChar](repeating: 0, count: 512)
    guard let reader = pt_pcap_reader_open("/proc/self/fd/\(memoryFile)", &error, error.count) else { return 0 }
    defer { pt_pcap_reader_close(reader) }
    let linkType = LinkType(pt_pcap_reader_link_type(reader))
    var replay = CaptureReplay(configuration: TCPReassembler.Configuration(maxPendingBytes: 1 << 14, maxConnections: 32))
    var events: [ProbeEvent] = []
    var bytes: UnsafePointer<UInt8>?
    var caplen: UInt32 = 0, length: UInt32 = 0, timestamp: UInt64 = 0
    while pt_pcap_reader_next(reader, &bytes, &caplen, &length, &timestamp) == 1, let bytes {
        events.removeAll(keepingCapacity: true)
        replay.process(timestamp: timestamp, linkType: linkType, bytes: UnsafeRawBufferPointer(start: bytes, count: Int(caplen)),
                       originalLength: Int(length), into: &events)
    }
    _ = pt_pcap_reader_error(reader)
    _ = replay.finish()
    return 0
}

@_cdecl("PcapReaderFuzzer_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    FuzzDriver.run(argc, argv, pcapReaderFuzzer)
}
