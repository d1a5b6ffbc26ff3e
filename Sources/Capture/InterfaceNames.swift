import CaptureFormats
import Glibc

/// Names the devices packets cross, per network namespace: an index means a
/// different device in each namespace, so the name is asked inside the
/// namespace (setns on this thread, if_indextoname, setns back). A namespace
/// is entered through its `ip netns` file, or a process that lives in it.
/// Names are read once, when a device is first seen, while it still exists.
public final class InterfaceNames {
    private var known: [Key: String] = [:]
    private let ownNetns: UInt32

    private struct Key: Hashable {
        var netns: UInt32
        var index: UInt32
    }

    public init() {
        ownNetns = InterfaceNames.inode("/proc/self/ns/net") ?? 0
    }

    /// The interface for a packet of namespace `netns` on device `index`.
    public func interface(netns: UInt32, index: UInt32, container: String, pid: UInt32) -> CaptureInterface {
        let key = Key(netns: netns, index: index)
        if let name = known[key] { return CaptureInterface(netns: netns, index: index, name: name, container: container) }
        let name = lookUp(netns: netns, index: index, pid: pid) ?? "if\(index)"
        known[key] = name
        return CaptureInterface(netns: netns, index: index, name: name, container: container)
    }

    private func lookUp(netns: UInt32, index: UInt32, pid: UInt32) -> String? {
        guard index != 0 else { return nil }
        if netns == ownNetns { return InterfaceNames.name(of: index) }
        guard let path = namespacePath(netns, pid: pid) else { return nil }
        let target = open(path, O_RDONLY | O_CLOEXEC)
        guard target >= 0 else { return nil }
        defer { close(target) }
        let home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        guard home >= 0 else { return nil }
        defer { close(home) }
        guard let setns = InterfaceNames.setns, setns(target, InterfaceNames.cloneNewNet) == 0 else { return nil }
        let name = InterfaceNames.name(of: index)
        if setns(home, InterfaceNames.cloneNewNet) != 0 {
            // Staying in another namespace would be worse than dying: nothing else here opens sockets, but be sure.
            fatalError("pipetrace: could not return to its own network namespace")
        }
        return name
    }

    private func namespacePath(_ netns: UInt32, pid: UInt32) -> String? {
        if let dir = opendir("/run/netns") {
            defer { closedir(dir) }
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name != ".", name != "..", InterfaceNames.inode("/run/netns/\(name)") == netns { return "/run/netns/\(name)" }
            }
        }
        if pid != 0, InterfaceNames.inode("/proc/\(pid)/ns/net") == netns { return "/proc/\(pid)/ns/net" }
        return nil
    }

    /// setns(2): glibc declares it only under _GNU_SOURCE, which Swift's Glibc module does not set.
    private static let setns: (@convention(c) (Int32, Int32) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setns") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
    }()
    private static let cloneNewNet: Int32 = 0x4000_0000

    private static func name(of index: UInt32) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(IF_NAMESIZE) + 1)
        guard if_indextoname(index, &buffer) != nil else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func inode(_ path: String) -> UInt32? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return UInt32(truncatingIfNeeded: st.st_ino)
    }
}
