/// Joins a client's and a server's view of the same exchange when both ends
/// run on this host. Views pair by connection (the client and server
/// endpoints, the same from both ends), then by the exchange's pairing key
/// when the protocol multiplexes (HTTP/2's stream id) or else by order on
/// the connection; a pair is checked by method and target. A view waits only while the other end's connection
/// is open, for at most the merge window.
struct BothEndsMerger: Sendable {
    struct Held: Sendable {
        var record: RequestRecord
        var heldAt: UInt64
        var sequence: UInt64
    }

    struct Queues: Sendable {
        var client: [Held] = []
        var server: [Held] = []
    }

    private var held: [PrehashedKey<EndpointPair>: Queues] = [:]
    private var sequence: UInt64 = 0
    let maxHeldPerPair: Int

    init(maxHeldPerPair: Int) {
        self.maxHeldPerPair = maxHeldPerPair
    }

    var heldCount: Int { held.values.reduce(0) { $0 + $1.client.count + $1.server.count } }

    /// Takes one end's view; emits it merged, alone, or holds it for the other end.
    ///
    /// A pair's queues stay in place while its connection is open (`release`
    /// removes them), changed where they lie: one hash per view, and no
    /// arrays made and freed per exchange.
    mutating func offer(_ view: consuming RequestRecord, pair: PrehashedKey<EndpointPair>, peerOpen: Bool, now: UInt64,
                        counters: inout AnalyzerCounters, into out: inout [RequestRecord]) {
        guard let index = held.index(forKey: pair) else {
            guard peerOpen else {
                out.append(view)
                return
            }
            sequence += 1
            var queues = Queues()
            let entry = Held(record: view, heldAt: now, sequence: sequence)
            if entry.record.side == .client { queues.client.append(entry) } else { queues.server.append(entry) }
            held[pair] = queues
            return
        }
        sequence += 1
        BothEndsMerger.offer(view, to: &held.values[index], peerOpen: peerOpen, now: now, sequence: sequence,
                             maxHeld: maxHeldPerPair, counters: &counters, into: &out)
    }

    private static func offer(_ view: consuming RequestRecord, to queues: inout Queues, peerOpen: Bool, now: UInt64,
                              sequence: UInt64, maxHeld: Int, counters: inout AnalyzerCounters,
                              into out: inout [RequestRecord]) {
        let isClient = view.side == .client
        if let key = view.pairingKey {
            guard let other = takeView(pairedBy: key, from: &queues, forClient: isClient) else {
                hold(view, in: &queues, isClient: isClient, peerOpen: peerOpen, now: now, sequence: sequence,
                     maxHeld: maxHeld, counters: &counters, into: &out)
                return
            }
            join(view, other.record, viewIsClient: isClient, counters: &counters, into: &out)
            return
        }
        while !(isClient ? queues.server.isEmpty : queues.client.isEmpty) {
            // remove(at:) moves the view out; removeFirst() would copy it and destroy the original.
            let other = isClient ? queues.server.remove(at: 0) : queues.client.remove(at: 0)
            if BothEndsMerger.sameExchange(view, other.record) {
                join(view, other.record, viewIsClient: isClient, counters: &counters, into: &out)
                return
            }
            // An older view that does not match this one will not match a later one.
            counters.viewsUnmatched += 1
            out.append(other.record)
        }
        hold(view, in: &queues, isClient: isClient, peerOpen: peerOpen, now: now, sequence: sequence, maxHeld: maxHeld,
             counters: &counters, into: &out)
    }

    /// Multiplexed (HTTP/2): the other end's view with the same key, wherever it waits.
    @inline(never)
    private static func takeView(pairedBy key: UInt64, from queues: inout Queues, forClient: Bool) -> Held? {
        if forClient {
            return queues.server.firstIndex { $0.record.pairingKey == key }.map { queues.server.remove(at: $0) }
        }
        return queues.client.firstIndex { $0.record.pairingKey == key }.map { queues.client.remove(at: $0) }
    }

    /// Holds a view for the other end's while that end is open (past `maxHeld`, the oldest goes alone).
    @inline(__always)
    private static func hold(_ view: consuming RequestRecord, in queues: inout Queues, isClient: Bool, peerOpen: Bool,
                             now: UInt64, sequence: UInt64, maxHeld: Int, counters: inout AnalyzerCounters,
                             into out: inout [RequestRecord]) {
        guard peerOpen else {
            out.append(view)
            return
        }
        let entry = Held(record: view, heldAt: now, sequence: sequence)
        if isClient { queues.client.append(entry) } else { queues.server.append(entry) }
        if queues.client.count + queues.server.count > maxHeld {
            let oldest = isClient ? queues.client.remove(at: 0) : queues.server.remove(at: 0)
            counters.viewsUnmatched += 1
            out.append(oldest.record)
        }
    }

    /// Emits the record of both views. Merged where the client's view lies,
    /// then moved out: no record copied.
    private static func join(_ view: consuming RequestRecord, _ other: consuming RequestRecord, viewIsClient: Bool,
                             counters: inout AnalyzerCounters, into out: inout [RequestRecord]) {
        var view = view
        var other = other
        if viewIsClient {
            merge(into: &view, server: &other, counters: &counters)
            out.append(view)
        } else {
            merge(into: &other, server: &view, counters: &counters)
            out.append(other)
        }
        counters.mergedRecords += 1
    }

    /// The connection seen from `closedSide` is gone: views from the other side
    /// waiting for it will never pair.
    mutating func release(pair: PrehashedKey<EndpointPair>, closedSide: RequestRecord.Side,
                          counters: inout AnalyzerCounters, into out: inout [RequestRecord]) {
        guard var queues = held[pair] else { return }
        let waiting: [Held]
        if closedSide == .client {
            waiting = queues.server
            queues.server = []
        } else {
            waiting = queues.client
            queues.client = []
        }
        held[pair] = queues.client.isEmpty && queues.server.isEmpty ? nil : queues
        counters.viewsUnmatched += UInt64(waiting.count)
        out.append(contentsOf: waiting.map(\.record))
    }

    /// Emits views held since before `cutoff`.
    mutating func expire(heldBefore cutoff: UInt64, counters: inout AnalyzerCounters, into out: inout [RequestRecord]) {
        var expired: [Held] = []
        for (pair, var queues) in held {
            let before = expired.count
            expired += queues.client.filter { $0.heldAt < cutoff } + queues.server.filter { $0.heldAt < cutoff }
            guard expired.count > before else { continue }
            queues.client.removeAll { $0.heldAt < cutoff }
            queues.server.removeAll { $0.heldAt < cutoff }
            held[pair] = queues.client.isEmpty && queues.server.isEmpty ? nil : queues
        }
        counters.viewsUnmatched += UInt64(expired.count)
        out.append(contentsOf: expired.sorted { $0.sequence < $1.sequence }.map(\.record))
    }

    /// Emits everything held, oldest first.
    mutating func drain(counters: inout AnalyzerCounters, into out: inout [RequestRecord]) {
        expire(heldBefore: .max, counters: &counters, into: &out)
    }

    static func sameExchange(_ a: RequestRecord, _ b: RequestRecord) -> Bool {
        func agree(_ x: String?, _ y: String?) -> Bool { x == nil || y == nil || x == y }
        return agree(a.method, b.method) && agree(a.target, b.target)
    }

    /// Makes the client's view `merged` the record of both views: the
    /// client's timing and identity, the server's identity and time, and the
    /// network time in between.
    ///
    /// Changed in place, with the server's peer swapped in from `server`
    /// (left with the client's old one): a field the client's view has is
    /// not assigned again (each string assigned is a copy and a release).
    static func merge(into merged: inout RequestRecord, server: inout RequestRecord,
                      counters: inout AnalyzerCounters) {
        // Children found their parent through the server's view: keep its id.
        merged.id = server.id
        merged.side = .both
        swap(&merged.server, &server.server)
        if merged.client.ip == nil { merged.client.ip = server.client.ip }
        if merged.client.port == nil { merged.client.port = server.client.port }
        if merged.method == nil { merged.method = server.method }
        if merged.target == nil { merged.target = server.target }
        if merged.status == nil { merged.status = server.status }
        if merged.outcome == nil { merged.outcome = server.outcome }
        if merged.requestMessages == nil { merged.requestMessages = server.requestMessages }
        if merged.responseMessages == nil { merged.responseMessages = server.responseMessages }
        if merged.firstResponse == nil { merged.firstResponse = server.firstResponse }
        if merged.attributeStorage == nil { merged.attributeStorage = server.attributeStorage }
        if merged.partitions == nil { merged.partitions = server.partitions }
        if merged.requestBytes == 0 { merged.requestBytes = server.requestBytes }
        if merged.responseBytes == 0 { merged.responseBytes = server.responseBytes }
        merged.serverTime = server.duration
        merged.serverStart = server.start
        if merged.duration >= server.duration {
            merged.network = merged.duration - server.duration
        } else {
            merged.network = 0
            counters.networkTimeClamped += 1
        }
        merged.retransmits = merged.retransmits &+ server.retransmits
        merged.childWait = server.childWait
        merged.isComplete = merged.isComplete && server.isComplete
    }
}
