import Events
import Foundation
import Glibc
import Probe
import TestSupport
import Testing

/// A container runtime's cgroup layout and the state it keeps, as the tests make them.
struct ContainerLayout: CustomTestStringConvertible, Sendable {
    let label: String
    /// The cgroup in the v2 hierarchy and in the v1 memory controller ("%@": the id); nil: stays in the test's.
    let v2: String?
    let v1: String?
    /// The runtime's state files (path below the state root: text) for containers (id, name).
    let state: @Sendable ([(id: String, name: String)]) -> [String: String]
    /// The name the state gives a container called `name`; nil where no state is written (the short id shows).
    let shown: @Sendable (String) -> String?
    /// Whether the cgroup v2 names the container: where it does not (v1 only),
    /// a process is named from /proc/PID/cgroup, so it must still be alive
    /// when its first event is read, and the client stays a second.
    var namedByV2: Bool { v2 != nil }

    var testDescription: String { label }

    static let docker: @Sendable ([(id: String, name: String)]) -> [String: String] = { containers in
        Dictionary(uniqueKeysWithValues: containers.map { ("var/lib/docker/containers/\($0.id)/config.v2.json",
                                                           #"{"ID":"\#($0.id)","Name":"/\#($0.name)","State":{"Running":true}}"#) })
    }

    static let v2Layouts: [ContainerLayout] = [
        ContainerLayout(label: "docker, systemd driver (cgroup v2)", v2: "system.slice/docker-%@.scope", v1: nil,
                        state: docker, shown: { $0 }),
        ContainerLayout(label: "docker, cgroupfs driver (cgroup v2), no state readable", v2: "docker/%@", v1: nil,
                        state: { _ in [:] }, shown: { _ in nil }),
        ContainerLayout(label: "containerd under Kubernetes", v2: "kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod2c7b9a1e_5f0e_4d1b_9a8e_0c1d2e3f4a5b.slice/cri-containerd-%@.scope", v1: nil,
                        state: { containers in
                            Dictionary(uniqueKeysWithValues: containers.map {
                                ("run/containerd/io.containerd.runtime.v2.task/k8s.io/\($0.id)/config.json",
                                 #"{"annotations":{"io.kubernetes.cri.container-name":"main","io.kubernetes.cri.sandbox-name":"\#($0.name)"}}"#)
                            })
                        }, shown: { "\($0)/main" }),
        ContainerLayout(label: "cri-o", v2: "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod2c7b9a1e_5f0e_4d1b_9a8e_0c1d2e3f4a5b.slice/crio-%@.scope", v1: nil,
                        state: { containers in
                            Dictionary(uniqueKeysWithValues: containers.map {
                                ("run/containers/storage/overlay-containers/\($0.id)/userdata/config.json",
                                 #"{"annotations":{"io.kubernetes.container.name":"main","io.kubernetes.pod.name":"\#($0.name)"}}"#)
                            })
                        }, shown: { "\($0)/main" }),
        ContainerLayout(label: "podman, payload cgroup below its scope", v2: "machine.slice/libpod-%@.scope/container", v1: nil,
                        state: { containers in
                            let entries = containers.map { #"{"id":"\#($0.id)","names":["\#($0.name)"],"layer":"x"}"# }
                            return ["var/lib/containers/storage/overlay-containers/containers.json": "[" + entries.joined(separator: ",") + "]"]
                        }, shown: { $0 }),
    ]

    /// docker's cgroupfs driver on hosts with v1 controllers: in the v1
    /// controllers only (the v2 cgroup stays the parent's, shared with the
    /// host's processes), or in both (hybrid).
    static let v1Layouts: [ContainerLayout] = [
        ContainerLayout(label: "docker, v1 memory controller only", v2: nil, v1: "docker/%@", state: docker, shown: { $0 }),
        ContainerLayout(label: "docker, hybrid (v1 memory controller and cgroup v2)", v2: "docker/%@", v1: "docker/%@",
                        state: docker, shown: { $0 }),
    ]
}

/// Runtime state files under a temporary root, the resolver's `stateRoot`;
/// deleted when released (keep it alive while it is read).
final class StateRoot {
    let path: String

    init(files: [String: String]) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("pt-state-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        for (file, text) in files {
            let url = URL(fileURLWithPath: path).appendingPathComponent(file)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

extension ProbeTests {
    static let serverID = "5e1f0c2b3a4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7"
    static let clientID = "c1c2c3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f80"

    @Test("processes in a container's cgroup v2 are named by the container, by name where its runtime's state is readable, in every event",
          arguments: ContainerLayout.v2Layouts)
    func containerNamed(layout: ContainerLayout) throws {
        try checkNaming(layout)
    }

    @Test("processes in a container's cgroup of the v1 memory controller are named by the container (hosts with v1 controllers)",
          .enabled(if: TestCgroups.v1MemoryMount != nil), arguments: ContainerLayout.v1Layouts)
    func containerNamedV1(layout: ContainerLayout) throws {
        try checkNaming(layout)
    }

    /// A server and a client, each in its own network namespace and its own
    /// container's cgroup, exchange a request; every event of theirs (those
    /// raised in softirq context for their sockets too) names their container.
    func checkNaming(_ layout: ContainerLayout) throws {
        let net = try TestNetwork()
        defer { net.remove() }
        let cgroups = try TestCgroups()
        defer { cgroups.remove() }
        let ends = [(id: Self.serverID, name: "vector-aggregator-1"), (id: Self.clientID, name: "vector-agent-1")]
        let state = try StateRoot(files: layout.state(ends))
        defer { withExtendedLifetime(state) {} }
        let resolver = ContainerResolver(stateRoot: state.path)
        var config = ProbeConfiguration()
        config.netns = Set([net.server, net.client].compactMap { resolver.netns(named: $0) })
        let probe = try Probe(configuration: config, containers: resolver)
        func inside(_ id: String, _ command: [String]) throws -> [String] {
            try cgroups.command(v2: layout.v2?.replacingOccurrences(of: "%@", with: id),
                                v1: layout.v1?.replacingOccurrences(of: "%@", with: id), command)
        }
        let server = try Child(inside(Self.serverID, net.exec(net.server, ["python3", Repository.httpPeer, "server", "8080", "plain", "300"])))
        _ = try server.readJSON()
        // The client exits as soon as its exchange is done, well within a second of its first event.
        let linger = "PT_PEER_LINGER=\(layout.namedByV2 ? 0 : 1)"
        let client = try Child(inside(Self.clientID, ["env", linger] + net.exec(net.client, ["python3", Repository.httpPeer, "client", net.serverAddress, "8080", "plain"])))
        var recorder = EventRecorder()
        try recorder.record(probe, until: [client, server])
        let s = try server.readJSON(), c = try client.readJSON()
        let clientPort = UInt16((c["local"] as? [Any])?.last as? Int ?? 0)
        for (end, pid, sideOf) in [(ends[0], s.int("pid"), { (h: EventHeader) in h.tuple.local.port == 8080 }),
                                   (ends[1], c.int("pid"), { (h: EventHeader) in h.tuple.local.port == clientPort })] {
            let expected = layout.shown(end.name) ?? String(end.id.prefix(12))
            let events = recorder.events.filter { $0.header.pid == UInt32(pid) }
            #expect(events.contains { if case .data = $0 { true } else { false } }, "\(layout.label): no data events of \(end.name)")
            // Every event on its socket: its own syscalls and those the kernel raised for it in softirq context.
            let onSocket = recorder.events.filter { sideOf($0.header) && $0.header.tuple.remote.port != 0 }
            #expect(onSocket.contains { if case .stateChanged = $0 { true } else { false } }, "\(layout.label): no state changes of \(end.name)")
            for event in events + onSocket {
                #expect(event.header.container == expected && event.header.containerID == String(end.id.prefix(12)),
                        "\(layout.label): \(event.kindName) of pid \(event.header.pid) cgroup \(event.header.cgroupID) is \(event.header.container ?? "nil") / \(event.header.containerID ?? "nil"), not \(expected)")
            }
        }
    }

    @Test("--container takes a container's name or id prefix: its cgroups, and the probe then sees that container alone")
    func containerFilterByName() throws {
        let net = try TestNetwork()
        defer { net.remove() }
        let cgroups = try TestCgroups()
        defer { cgroups.remove() }
        let layout = ContainerLayout.v2Layouts[0]
        let state = try StateRoot(files: layout.state([(Self.serverID, "vector-aggregator-1"), (Self.clientID, "vector-agent-1")]))
        defer { withExtendedLifetime(state) {} }
        let resolver = ContainerResolver(stateRoot: state.path)
        let serverCgroup = "system.slice/docker-\(Self.serverID).scope"
        let server = try Child(cgroups.command(v2: serverCgroup, v1: nil,
                                               net.exec(net.server, ["python3", Repository.httpPeer, "server", "8080", "plain", "300"])))
        _ = try server.readJSON()
        let directory = try #require(cgroups.v2Directory(serverCgroup))
        var st = stat()
        #expect(stat(directory, &st) == 0)
        #expect(resolver.cgroups(ofContainer: "vector-aggregator-1") == [UInt64(st.st_ino)])
        #expect(resolver.cgroups(ofContainer: String(Self.serverID.prefix(6))) == [UInt64(st.st_ino)])
        #expect(resolver.cgroups(ofContainer: "vector-aggregator") == [])
        var config = ProbeConfiguration()
        config.cgroups = resolver.cgroups(ofContainer: "vector-aggregator-1")
        let probe = try Probe(configuration: config, containers: resolver)
        let client = try Child(cgroups.command(v2: "system.slice/docker-\(Self.clientID).scope", v1: nil,
                                               net.exec(net.client, ["python3", Repository.httpPeer, "client", net.serverAddress, "8080", "plain"])))
        var recorder = EventRecorder()
        try recorder.record(probe, until: [client, server])
        let s = try server.readJSON()
        #expect(!recorder.data(pid: s.int("pid"), .ingress).isEmpty)
        #expect(recorder.events.allSatisfy { $0.header.container == "vector-aggregator-1" })
    }
}
