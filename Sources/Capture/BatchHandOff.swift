import Foundation

/// Batches from one producer thread to one consumer thread, in order, with
/// at most `capacity` waiting: `put` waits while the consumer is that far
/// behind, `take` while nothing waits. It is what lets `analyze` read and
/// reassemble a capture on one core while the analyzer runs on another,
/// in memory bounded by `capacity` batches.
public final class BatchHandOff<Batch: Sendable>: @unchecked Sendable {
    // @unchecked: every stored var is touched only under `condition`'s lock.
    private let condition = NSCondition()
    private var waiting: [Batch] = []
    private var isClosed = false
    public let capacity: Int

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Hands a batch over, waiting for room.
    public func put(_ batch: Batch) {
        condition.lock()
        defer { condition.unlock() }
        while waiting.count >= capacity { condition.wait() }
        waiting.append(batch)
        // Only one side can be waiting: the producer on a full queue, the consumer on an empty one.
        condition.signal()
    }

    /// Nothing more will be put: `take` returns nil once the waiting batches are taken.
    public func close() {
        condition.lock()
        defer { condition.unlock() }
        isClosed = true
        condition.signal()
    }

    /// Every batch waiting, without waiting for one.
    public func takeAll() -> [Batch] {
        condition.lock()
        defer { condition.unlock() }
        guard !waiting.isEmpty else { return [] }
        var batches: [Batch] = []
        swap(&batches, &waiting) // the list itself goes out; the next put starts a new one
        condition.signal()
        return batches
    }

    /// The oldest batch, waiting for one; nil once closed and empty.
    public func take() -> Batch? {
        condition.lock()
        defer { condition.unlock() }
        while waiting.isEmpty && !isClosed { condition.wait() }
        guard !waiting.isEmpty else { return nil }
        let batch = waiting.removeFirst()
        condition.signal()
        return batch
    }
}
