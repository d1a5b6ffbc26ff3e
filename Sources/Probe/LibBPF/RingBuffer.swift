internal import CLibBPF
import Glibc

/// Reads a BPF ring buffer map. Each record is handed to `handler` as raw
/// bytes, valid only during the call, on the thread that calls `poll`.
public final class RingBuffer {
    private final class Context {
        let handler: (UnsafeRawBufferPointer) -> Void
        init(_ handler: @escaping (UnsafeRawBufferPointer) -> Void) { self.handler = handler }
    }

    private let ring: OpaquePointer
    private let context: Unmanaged<Context>

    public init(map: BPFMap, handler: @escaping (UnsafeRawBufferPointer) -> Void) throws(BPFError) {
        let context = Unmanaged.passRetained(Context(handler))
        let callback: ring_buffer_sample_fn = { ctx, data, size in
            guard let ctx, let data else { return 0 }
            Unmanaged<Context>.fromOpaque(ctx).takeUnretainedValue()
                .handler(UnsafeRawBufferPointer(start: data, count: Int(size)))
            return 0
        }
        guard let ring = ring_buffer__new(map.fd, callback, context.toOpaque(), nil) else {
            context.release()
            throw BPFError.from("open ring buffer \(map.name)")
        }
        self.ring = ring
        self.context = context
    }

    deinit {
        ring_buffer__free(ring)
        context.release()
    }

    /// Waits up to `timeoutMilliseconds` for a wakeup, then handles every
    /// record that is ready (also those whose producer chose not to wake us);
    /// returns how many. An interrupted wait (a signal) is not an error.
    @discardableResult
    public func poll(timeoutMilliseconds: Int32) throws(BPFError) -> Int {
        let n = ring_buffer__poll(ring, timeoutMilliseconds)
        if n < 0 && n != -EINTR { throw BPFError.from("poll ring buffer", result: n) }
        return max(0, Int(n)) + (try drain())
    }

    /// Handles every record already in the buffer without waiting.
    @discardableResult
    public func drain() throws(BPFError) -> Int {
        let n = ring_buffer__consume(ring)
        if n < 0 { throw BPFError.from("drain ring buffer", result: n) }
        return Int(n)
    }
}
