internal import CLibBPF
import Glibc

/// A map of a `BPFObject`. Valid while its object lives; it keeps the object alive.
public struct BPFMap {
    let map: OpaquePointer
    let owner: BPFObject

    public var name: String { String(cString: bpf_map__name(map)) }

    /// The kernel's descriptor, once the object is loaded.
    public var fd: Int32 { bpf_map__fd(map) }

    /// Sizes the map before load.
    public func setMaxEntries(_ count: UInt32) throws(BPFError) {
        let rc = bpf_map__set_max_entries(map, count)
        if rc != 0 { throw BPFError.from("resize map \(name)", result: rc) }
    }

    /// Uses another object's already created map instead of creating one: the
    /// way several objects share one ring buffer and one connection table.
    public func reuse(_ other: BPFMap) throws(BPFError) {
        let rc = bpf_map__reuse_fd(map, other.fd)
        if rc != 0 { throw BPFError.from("share map \(name)", result: rc) }
    }

    /// Inserts or replaces an entry (after load). The key and value must
    /// have the sizes the map was declared with.
    public func update<Key: BitwiseCopyable, Value: BitwiseCopyable>(key: Key, value: Value) throws(BPFError) {
        guard MemoryLayout<Key>.size == Int(bpf_map__key_size(map)),
              MemoryLayout<Value>.size == Int(bpf_map__value_size(map)) else {
            throw BPFError("update map \(name): a \(MemoryLayout<Key>.size)-byte key and \(MemoryLayout<Value>.size)-byte value, "
                           + "but its entries are \(bpf_map__key_size(map)) and \(bpf_map__value_size(map)) bytes", errno: EINVAL)
        }
        var key = key, value = value
        let rc = bpf_map_update_elem(fd, &key, &value, UInt64(BPF_ANY))
        if rc != 0 { throw BPFError.from("update map \(name)", result: rc) }
    }

    /// Takes up to `limit` keys out of a hash map: reads them, then deletes each.
    public func takeKeys<Key: BitwiseCopyable>(_: Key.Type, limit: Int) -> [Key] {
        let size = MemoryLayout<Key>.size
        guard size == Int(bpf_map__key_size(map)) else { return [] }
        var keys: [Key] = []
        var current = [UInt8](repeating: 0, count: size), next = current
        var first = true
        while keys.count < limit {
            let rc = next.withUnsafeMutableBytes { out in
                current.withUnsafeBytes { bpf_map_get_next_key(fd, first ? nil : $0.baseAddress, out.baseAddress) }
            }
            guard rc == 0 else { break }
            keys.append(next.withUnsafeBytes { $0.loadUnaligned(as: Key.self) })
            swap(&current, &next)
            first = false
        }
        for var key in keys { _ = bpf_map_delete_elem(fd, &key) }
        return keys
    }

    /// CPUs the kernel may bring online: the size of per-CPU things.
    public static var possibleCPUs: Int32 { libbpf_num_possible_cpus() }

    /// The values of every CPU for `key` in a per-CPU map, summed.
    public func perCPUSum(key: UInt32) -> UInt64 {
        let cpus = Int(libbpf_num_possible_cpus())
        guard cpus > 0 else { return 0 }
        var values = [UInt64](repeating: 0, count: cpus)
        var key = key
        guard bpf_map_lookup_elem(fd, &key, &values) == 0 else { return 0 }
        return values.reduce(0, &+)
    }
}
